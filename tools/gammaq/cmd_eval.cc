// gammaq eval MODEL.onnx --data SPEC [--limit N] [--batch B] [--threads T] [--json]
//             [--logits OUT.npy]
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

namespace gammaq::cli {
namespace {

struct EvalArgs {
  std::string model, data, logits, quant;
  int64_t limit = -1, batch = 64;
  int threads = 0;
  bool json = false, quiet = false;
  std::string kernels;
  PreprocessFlags pre;
} args;

int run_eval() {
  if (!args.logits.empty()) check_output_path(args.logits, OutputKind::File, "--logits");
  const LoadedModel m = load_model(args.model);
  if (args.batch < 1) throw Error(ErrorKind::InvalidOption, "--batch must be >= 1");
  ExecutorOptions eo;
  eo.threads = args.threads;
  eo.impl = kernel_impl_option(args.kernels);
  auto data = open_data_for(args.data, args.pre.resolve(m.graph), m.graph, Need::Images);
  FakeQuant fq;
  if (!args.quant.empty()) {
    fq = resolve_plan(m.graph, load_plan(args.quant, m));
    eo.fake_quant = &fq;
  }
  Executor exec(m.graph, eo);
  const int64_t total = args.limit < 0 ? data->size() : std::min(args.limit, data->size());
  Progress progress("eval " + m.graph.name, total, args.quiet);
  std::vector<float> logits;
  int64_t classes = 0;
  EvalOptions opts;
  opts.batch = args.batch;
  opts.limit = args.limit;
  opts.on_batch = [&](int64_t done, const Tensor&, const Tensor& out) {
    classes = out.numel() / out.shape[0];
    if (!args.logits.empty()) logits.insert(logits.end(), out.data.begin(), out.data.end());
    progress.update(done);
  };
  const Accuracy acc = evaluate(exec, *data, opts);
  progress.finish();
  if (!args.logits.empty()) write_npy_f32(args.logits, {acc.images, classes}, logits);
  if (args.json)
    std::cout << accuracy_json(acc).dump() << "\n";
  else
    print_accuracy(m.graph.name, args.data, acc);
  return 0;
}

}  // namespace

void add_eval(CLI::App& app, Subcommand& run) {
  CLI::App* sub = app.add_subcommand("eval", "top-1/top-5 accuracy and speed of a float model");
  sub->add_option("MODEL", args.model, "ONNX model")->required();
  sub->add_option("--data", args.data, "dataset SPEC, e.g. fashion-mnist:test")->required();
  sub->add_option("--limit", args.limit, "evaluate only the first N images");
  sub->add_option("--batch", args.batch, "images per batch (default 64)");
  sub->add_option("--threads", args.threads, "kernel threads (default: all cores)")
      ->check(CLI::Range(0, 1024));
  sub->add_option("--quant", args.quant, "evaluate the fixed-point simulation of a quant.json");
  sub->add_option("--logits", args.logits, "write the model outputs as float32 NPY [N, classes]");
  sub->add_option("--kernels", args.kernels, "fast (default) or reference")
      ->check(CLI::IsMember({"fast", "reference"}));
  sub->add_flag("--json", args.json, "print one JSON object on stdout");
  sub->add_flag("--quiet", args.quiet, "no progress on stderr");
  args.pre.add_to(*sub);
  sub->callback([&run] { run = run_eval; });
}

}  // namespace gammaq::cli
