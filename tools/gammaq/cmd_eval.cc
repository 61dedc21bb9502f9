// gammaq eval MODEL.onnx --data SPEC [--limit N] [--batch B] [--threads T] [--json]
//             [--logits OUT.npy] [--quant quant.json [--map-threshold T]]
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common.h"
#include "core/atomic_file.h"
#include "engine/fake_quant.h"
#include "gammaq/error.h"
#include "gammaq/evaluate.h"
#include "gammaq/executor.h"
#include "kernels/fast/fast.h"
#include "pipeline/summary.h"

namespace gammaq::cli {
namespace {

struct EvalArgs {
  std::string model, data, logits, quant;
  ImportFlags imp;
  int64_t limit = -1, batch = 64;
  int threads = 0;
  bool json = false, quiet = false;
  float map_threshold = 0.5f;
  std::string kernels;
  PreprocessFlags pre;
} args;

int run_eval() {
  if (!args.logits.empty()) check_output_path(args.logits, OutputKind::File, "--logits");
  const LoadedModel m = load_model(args.model, args.imp.options());
  const Graph& g = m.graph;
  if (args.batch < 1) throw Error(ErrorKind::InvalidOption, "--batch must be >= 1");
  ExecutorOptions eo;
  eo.threads = args.threads;
  eo.impl = kernel_impl_option(args.kernels);
  auto data = open_data_for(args.data, args.pre.resolve(g), g, Need::Images);
  const bool quant = !args.quant.empty(), labelled = data->has_labels();
  FakeQuant fq;
  if (quant) {
    fq = resolve_plan(g, load_plan(args.quant, m));
    eo.fake_quant = &fq;
  }
  Executor exec(g, eo);
  // With --quant, the float model on the same images: the label-free agreement.
  std::unique_ptr<Executor> ref;
  if (quant) {
    ExecutorOptions ro = eo;
    ro.fake_quant = nullptr;
    ref = std::make_unique<Executor>(g, ro);
  }
  const int64_t total = args.limit < 0 ? data->size() : std::min(args.limit, data->size());
  Progress progress("eval " + g.name, total, args.quiet);
  std::vector<float> logits;
  int64_t classes = 0;
  auto keep = [&](int64_t done, const Tensor& out) {
    classes = out.numel() / out.shape[0];
    if (!args.logits.empty()) logits.insert(logits.end(), out.data.begin(), out.data.end());
    progress.update(done);
  };
  Accuracy acc;
  Agreement agr;
  if (quant) {  // the simulation beside the float model: accuracy where labelled, agreement
    AgreementOptions ao;
    ao.batch = args.batch;
    ao.limit = args.limit;
    ao.map_threshold = args.map_threshold;
    ao.on_batch = keep;
    PairScores ps = evaluate_pair(*ref, exec, *data, ao);
    acc = ps.quantized;
    agr = std::move(ps.agreement);
    if (!labelled) acc.images = agr.images;
  } else {
    for (int64_t begin = 0; begin < total; begin += args.batch) {
      const int64_t count = std::min(args.batch, total - begin);
      const Batch b = data->read(begin, count);
      const double t0 = now_seconds();
      const Tensor& out = exec.run(b.images);
      acc.inference_seconds += now_seconds() - t0;
      if (labelled)
        accumulate_accuracy(out, b.labels, acc);
      else
        acc.images += count;
      keep(begin + count, out);
    }
  }
  progress.finish();
  if (!args.logits.empty()) write_npy_f32(args.logits, {acc.images, classes}, logits);
  if (args.json) {
    nlohmann::ordered_json j;
    if (labelled) {
      j = accuracy_json(acc);
    } else {
      j["images"] = acc.images;
      j["images_per_s"] = acc.images_per_s();
      j["threads"] = kernels::kernel_threads();
    }
    if (quant) j["agreement"] = agreement_json(agr);
    std::cout << j.dump() << "\n";
    return 0;
  }
  if (labelled)
    print_accuracy(g.name, args.data, acc);
  else
    std::printf("%s on %s: %lld images, no labels (%.1f images/s on %d thread(s))\n",
                g.name.c_str(), args.data.c_str(), static_cast<long long>(acc.images),
                acc.images_per_s(), kernels::kernel_threads());
  if (quant) print_agreement(agr);
  return 0;
}

}  // namespace

void add_eval(CLI::App& app, Subcommand& run) {
  CLI::App* sub = app.add_subcommand("eval", "top-1/top-5 accuracy and speed of a float model");
  sub->add_option("MODEL", args.model, "ONNX model")->required();
  args.imp.add_to(*sub);
  sub->add_option("--data", args.data, "dataset SPEC, e.g. fashion-mnist:test")->required();
  sub->add_option("--limit", args.limit, "evaluate only the first N images");
  sub->add_option("--batch", args.batch, "images per batch (default 64)");
  sub->add_option("--threads", args.threads, "kernel threads (default: all cores)")
      ->check(CLI::Range(0, 1024));
  sub->add_option("--quant", args.quant,
                  "evaluate the fixed-point simulation of a quant.json, and score it against "
                  "the float model (no labels needed)");
  sub->add_option("--map-threshold", args.map_threshold,
                  "maps of one channel: a pixel is foreground above it (mean IoU; default 0.5)");
  sub->add_option("--logits", args.logits, "write the model outputs as float32 NPY [N, classes]");
  sub->add_option("--kernels", args.kernels, "fast (default) or reference")
      ->check(CLI::IsMember({"fast", "reference"}));
  sub->add_flag("--json", args.json, "print one JSON object on stdout");
  sub->add_flag("--quiet", args.quiet, "no progress on stderr");
  args.pre.add_to(*sub);
  sub->callback([&run] { run = run_eval; });
}

}  // namespace gammaq::cli
