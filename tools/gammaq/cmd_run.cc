// gammaq run DIR --data SPEC [--model MODEL.onnx] [--limit N] [--batch B] [--threads T]
//            [--verify fast|reference] [--json] [--quiet]
// Integer inference of a quantized model: DIR holds quant.json and model.onnx (what
// `gammaq quantize --out DIR` writes). With --verify, the same batches also run through the
// fixed-point simulation and every logit is compared as an integer code.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "common.h"
#include "engine/fake_quant.h"
#include "engine/integer.h"
#include "gammaq/error.h"
#include "gammaq/evaluate.h"
#include "gammaq/executor.h"

namespace gammaq::cli {
namespace {

struct RunArgs {
  std::string dir, data, model, verify, kernels;
  int64_t limit = -1, batch = 64;
  int threads = 0;
  bool json = false, quiet = false;
  PreprocessFlags pre;
} args;

int run_run() {
  if (args.batch < 1) throw Error(ErrorKind::InvalidOption, "--batch must be >= 1");
  const QuantizedModel q = load_quantized(args.dir, args.model);
  const LoadedModel& m = q.model;
  const quant::QuantPlan& plan = q.plan;
  const IntegerProgram* program = q.program.get();
  auto data = open_data_for(args.data, args.pre.resolve(m.graph), m.graph, Need::LabelsOrFloat);
  ExecutorOptions eo;
  eo.threads = args.threads;
  eo.integer = program;
  eo.impl = kernel_impl_option(args.kernels);
  Executor exec(m.graph, eo);

  // The simulation beside it, batch by batch, when verifying.
  std::unique_ptr<FakeQuant> fq;
  std::unique_ptr<Executor> sim;
  if (!args.verify.empty()) {
    fq = std::make_unique<FakeQuant>(resolve_plan(m.graph, plan));
    sim = std::make_unique<Executor>(
        m.graph,
        ExecutorOptions{args.verify == "reference" ? KernelImpl::Reference : KernelImpl::Fast,
                        args.threads, fq.get()});
  }
  const quant::Format& out_format = program->format(m.graph.output);
  int64_t differ_logits = 0, differ_images = 0, differ_top1 = 0, max_steps = 0, logits = 0;
  const int64_t total = args.limit < 0 ? data->size() : std::min(args.limit, data->size());
  Progress progress("run " + plan.model, total, args.quiet);
  EvalOptions opts;
  opts.batch = args.batch;
  opts.limit = args.limit;
  opts.on_batch = [&](int64_t done, const Tensor& images, const Tensor& out) {
    if (sim) {
      const Tensor& s = sim->run(images);
      const std::vector<int32_t>& codes = exec.codes(m.graph.output);
      const int64_t n = out.shape[0], classes = out.numel() / n;
      for (int64_t i = 0; i < n; ++i) {
        bool any = false;
        int64_t best_int = 0, best_sim = 0;
        for (int64_t k = 0; k < classes; ++k) {
          const size_t j = static_cast<size_t>(i * classes + k);
          const double sim_code = std::ldexp(static_cast<double>(s.data[j]), out_format.frac);
          const int64_t d = std::llround(std::fabs(sim_code - codes[j]));
          if (d != 0 || sim_code != std::nearbyint(sim_code)) {
            ++differ_logits;
            any = true;
          }
          max_steps = std::max(max_steps, d);
          if (codes[j] > codes[static_cast<size_t>(i * classes + best_int)]) best_int = k;
          if (s.data[j] > s.data[static_cast<size_t>(i * classes + best_sim)]) best_sim = k;
        }
        logits += classes;
        differ_images += any;
        differ_top1 += best_int != best_sim;
      }
    }
    progress.update(done);
  };
  const Accuracy acc = evaluate(exec, *data, opts);
  progress.finish();
  if (args.json) {
    nlohmann::ordered_json j = accuracy_json(acc);
    if (const IntegerKernels* k = exec.integer_kernels()) j["convolutions"] = k->describe(*program);
    if (sim) {
      j["verify"] = {{"against", args.verify},
                     {"logits", logits},
                     {"differing_logits", differ_logits},
                     {"differing_images", differ_images},
                     {"differing_top1", differ_top1},
                     {"max_difference_steps", max_steps}};
    }
    std::cout << j.dump() << "\n";
  } else {
    print_accuracy(plan.model + " integer", args.data, acc);
    if (sim)
      std::printf(
          "  verify against the %s simulation: %lld of %lld logits differ (%lld images, %lld "
          "with another top-1; largest difference %lld steps)%s\n",
          args.verify.c_str(), static_cast<long long>(differ_logits),
          static_cast<long long>(logits), static_cast<long long>(differ_images),
          static_cast<long long>(differ_top1), static_cast<long long>(max_steps),
          differ_logits == 0 ? ": bit-exact" : "");
  }
  return 0;
}

}  // namespace

void add_run(CLI::App& app, Subcommand& run) {
  CLI::App* sub =
      app.add_subcommand("run", "integer inference of a quantized model (bit-exact engine)");
  sub->add_option("DIR", args.dir, "folder with quant.json and model.onnx (quantize --out)")
      ->required();
  sub->add_option("--data", args.data, "labelled dataset SPEC, e.g. fashion-mnist:test")
      ->required();
  sub->add_option("--model", args.model, "the ONNX model (default DIR/model.onnx)");
  sub->add_option("--limit", args.limit, "run only the first N images");
  sub->add_option("--batch", args.batch, "images per batch (default 64)");
  sub->add_option("--threads", args.threads, "kernel threads (default: all cores)")
      ->check(CLI::Range(0, 1024));
  sub->add_option("--kernels", args.kernels,
                  "fast (default: int8 convolutions where provably exact) or reference (int32 "
                  "loops only); the same integers")
      ->check(CLI::IsMember({"fast", "reference"}));
  sub->add_option("--verify", args.verify,
                  "compare every logit with the fixed-point simulation: fast or reference")
      ->check(CLI::IsMember({"fast", "reference"}));
  sub->add_flag("--json", args.json, "print one JSON object on stdout");
  sub->add_flag("--quiet", args.quiet, "no progress on stderr");
  args.pre.add_to(*sub);
  sub->callback([&run] { run = run_run; });
}

}  // namespace gammaq::cli
