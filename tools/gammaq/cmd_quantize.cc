// gammaq quantize MODEL.onnx --calib SPEC [--val SPEC] [--test SPEC] --wbits W --abits A ...
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common.h"
#include "core/atomic_file.h"
#include "engine/fake_quant.h"
#include "gammaq/error.h"
#include "gammaq/evaluate.h"
#include "ops/op.h"
#include "pipeline/quantize.h"
#include "pipeline/summary.h"
#include "quant/methods/method.h"
#include "report/diagnostics.h"

namespace gammaq::cli {
namespace {

struct QuantizeArgs {
  std::string model, calib, val, test, out = "gammaq_out", method = "ggd";
  ImportFlags imp;
  std::string overrides, kernels = "fast", tune = "none", calib_weights = "quantized";
  MethodFlags mf;
  int wbits = 8, abits = 8, threads = 0, bft_k = 1;
  double c0 = 1.0, c1 = 0.0, bft_z = 1.645;
  int64_t val_limit = -1, cache_mb = 4096;
  bool no_cache = false, no_memo = false;
  int64_t limit = -1, test_limit = -1, batch = 64;
  bool float_activations = false, quiet = false, json = false, report = false;
  float map_threshold = 0.5f;
  std::string metric = "top1";
  int64_t report_images = 200;
  PreprocessFlags pre;
} args;

// Float and quantized on the same images in one pass: top-1/top-5 of both where the data has
// labels, and the quantized outputs' agreement with float (labels or not).
PairScores score_on(const Graph& g, Dataset& data, const FakeQuant& fq, KernelImpl impl) {
  Executor fexec(g, {KernelImpl::Fast, args.threads, nullptr});
  Executor qexec(g, {impl, args.threads, &fq});
  const int64_t total = args.test_limit < 0 ? data.size() : std::min(args.test_limit, data.size());
  Progress progress("evaluate float and quantized", total, args.quiet);
  AgreementOptions ao;
  ao.batch = args.batch;
  ao.limit = args.test_limit;
  ao.map_threshold = args.map_threshold;
  ao.on_batch = [&](int64_t done, const Tensor&) { progress.update(done); };
  PairScores s = evaluate_pair(fexec, qexec, data, ao);
  progress.finish();
  return s;
}

int run_quantize() {
  check_output_path(args.out, OutputKind::Folder, "--out");
  const LoadedModel m = load_model(args.model, args.imp.options());
  const Graph& g = m.graph;
  QuantizeOptions o;
  args.mf.apply(o);
  o.method = args.method;
  o.wbits = args.wbits;
  o.abits = args.abits;
  o.float_activations = args.float_activations;
  o.calib_float_weights = args.calib_weights == "float";
  o.batch = args.batch;
  o.limit = args.limit;
  o.threads = args.threads;
  o.quiet = args.quiet;
  o.model_sha256 = file_fingerprint(args.model);
  o.import = m.import;
  for (auto [name, bits] : {std::pair{"--wbits", args.wbits}, std::pair{"--abits", args.abits}}) {
    if (bits < 2 || bits > 16)
      throw Error(ErrorKind::InvalidOption, str_cat(name, " ", bits, ": must be in 2..16"));
  }
  o.tune = args.tune;
  o.tune_options.k = args.bft_k;
  o.tune_options.z = args.bft_z;
  o.tune_options.c0 = args.c0;
  o.tune_options.c1 = args.c1;
  o.tune_options.cache = !args.no_cache;
  o.tune_options.memo = !args.no_cache && !args.no_memo;
  o.tune_options.cache_mb = args.cache_mb;
  o.tune_options.limit = args.val_limit;
  o.tune_options.batch = args.batch;
  o.tune_options.threads = args.threads;
  o.tune_options.quiet = args.quiet;
  o.tune_options.agreement = args.metric == "agreement";
  check_tune_options(o.tune_options);
  if (args.tune != "none" && args.val.empty())
    throw Error(
        ErrorKind::InvalidOption,
        str_cat("--tune ", args.tune, " needs --val (tuning images, disjoint from --test)"));
  if (!args.overrides.empty()) read_overrides(args.overrides, o);
  for (const auto& [name, bits] : o.weight_bits_override) {
    bool found = false;
    for (const Node& n : g.nodes) found |= n.name == name && ops::is_layer(n);
    if (!found)
      throw Error(ErrorKind::InvalidOption,
                  str_cat(args.overrides, ": layer '", name, "' is not a Conv/Gemm of ", g.name));
  }
  std::map<std::string, int> named = o.activation_bits_override;
  named.insert(o.activation_frac_override.begin(), o.activation_frac_override.end());
  for (const auto& [name, bits] : named)
    if (g.find_value(name) < 0 || g.values[g.find_value(name)].is_constant)
      throw Error(ErrorKind::InvalidOption, str_cat(args.overrides, ": tensor '", name,
                                                    "' is not an activation of ", g.name));

  const Preprocess pre = args.pre.resolve(g);
  auto calib = open_data_for(args.calib, pre, g, Need::Images);
  const std::string score_spec = !args.test.empty() ? args.test : args.val;
  std::unique_ptr<Dataset> score, val;
  // Unlabelled --test/--val are scored against float (agreement); tuning needs labels unless
  // --metric agreement.
  if (!score_spec.empty()) score = open_data_for(score_spec, pre, g, Need::Images);
  if (args.tune != "none") {
    val = open_data_for(args.val, pre, g, Need::Images);
    if (!val->has_labels() && !o.tune_options.agreement)
      throw Error(ErrorKind::InvalidData,
                  str_cat("--val ", args.val,
                          ": has no labels, and tuning scores top-1 against them; --metric "
                          "agreement tunes against the float model instead"));
    o.val = val.get();
  }

  QuantizeReport rep = quantize_model(g, *calib, o);
  for (const std::string& w : rep.warnings)
    std::fprintf(stderr, "gammaq: warning: %s\n", printable(w).c_str());
  if (args.tune != "none" && args.test.empty())
    std::fprintf(stderr,
                 "gammaq: warning: no --test: the accuracy printed is on --val, the images "
                 "tuning used\n");

  PairScores sc;
  double eval_seconds = 0;
  if (score) {
    const double t0 = now_seconds();
    const KernelImpl impl = args.kernels == "reference" ? KernelImpl::Reference : KernelImpl::Fast;
    const FakeQuant fq = resolve_plan(g, rep.plan);
    sc = score_on(g, *score, fq, impl);
    eval_seconds = now_seconds() - t0;
  }
  const Accuracy &fa = sc.reference, &qa = sc.quantized;
  std::string diagnostics;
  if (args.report) {  // measured before anything is written: a failure leaves no partial DIR
    Dataset& data = score ? *score : *calib;
    report::DiagnoseOptions d;
    d.images = args.report_images;
    d.threads = args.threads;
    d.data = score ? score_spec : args.calib;
    Progress progress("diagnose", std::min(args.report_images, data.size()), args.quiet);
    d.progress = [&](int64_t done, int64_t) { progress.update(done); };
    diagnostics = report::diagnose(g, rep.plan, data, d).dump(1) + "\n";
    progress.finish();
  }
  make_output_folder(args.out);
  write_text_file(args.out + "/quant.json", quant::plan_to_json(rep.plan));
  if (!diagnostics.empty()) write_text_file(args.out + "/diagnostics.json", diagnostics);
  {  // the model beside its formats, so DIR alone is a quantized model (gammaq run DIR)
    std::ifstream f(args.model, std::ios::binary);
    std::stringstream bytes;
    bytes << f.rdbuf();
    write_text_file(args.out + "/model.onnx", bytes.str());
  }
  const std::string summary = summary_json(g, rep, fa, qa, eval_seconds, args.tune, command_line(),
                                           score ? &sc.agreement : nullptr);
  write_text_file(args.out + "/summary.json", summary);
  if (args.report) write_report(args.out);
  if (args.json) {
    std::cout << summary;
  } else {
    std::printf("%s: %s w%da%d (%s, %s mode%s) calibrated on %lld images\n", g.name.c_str(),
                args.method.c_str(), args.wbits, args.abits, args.mf.granularity.c_str(),
                args.mf.mode.c_str(), args.float_activations ? ", float feature maps" : "",
                static_cast<long long>(rep.calibration_images));
    if (score && qa.images > 0)
      std::printf(
          "  float     top-1 %.4f  top-5 %.4f\n  quantized top-1 %.4f  top-5 %.4f  "
          "(loss %.2f points; %lld images of %s, %lld with a tied top score)\n",
          fa.top1(), fa.top5(), qa.top1(), qa.top5(), 100.0 * (fa.top1() - qa.top1()),
          static_cast<long long>(qa.images), score_spec.c_str(),
          static_cast<long long>(qa.tied_top1));
    if (score) print_agreement(sc.agreement);
    if (o.wlevels > 0 || !o.wthreshold.empty()) {
      const WeightStorage ws = weight_storage(g, rep.plan);
      std::printf(
          "  weights   %lld bytes: %.3f bits/weight stored (log2 Q %.3f, index entropy %.3f); "
          "float %lld bytes, uniform %d-bit %lld bytes\n",
          static_cast<long long>(ws.bytes), ws.bits_stored, ws.bits_eq, ws.bits_entropy,
          static_cast<long long>(ws.float_bytes), args.wbits,
          static_cast<long long>(ws.uniform_bytes));
    }
    std::printf("  wrote %s/quant.json, summary.json and model.onnx%s\n", args.out.c_str(),
                args.report ? ", diagnostics.json and report.html" : "");
  }
  return 0;
}

}  // namespace

void add_quantize(CLI::App& app, Subcommand& run) {
  CLI::App* sub = app.add_subcommand("quantize", "choose fixed-point formats for every tensor");
  sub->add_option("MODEL", args.model, "ONNX model")->required();
  args.imp.add_to(*sub);
  sub->add_option("--calib", args.calib, "calibration images (SPEC)")->required();
  sub->add_option("--val", args.val, "validation images (scored when --test is absent)");
  sub->add_option("--test", args.test,
                  "images to score float and quantized on: top-1/top-5 with labels, and the "
                  "agreement of every output with float (labels or not)");
  sub->add_option("--wbits", args.wbits, "weight bits (2..16)");
  sub->add_option("--abits", args.abits, "feature-map bits (2..16)");
  sub->add_option("--method", args.method,
                  "feature maps: " + quant::fm_method_names() + " (default ggd)");
  args.mf.add_to(*sub);
  sub->add_option("--calib-weights", args.calib_weights,
                  "network the statistics come from: quantized weights (default) or float "
                  "(as compare takes them)")
      ->check(CLI::IsMember({"quantized", "float"}));
  sub->add_flag("--float-activations", args.float_activations,
                "quantize weights only (WQ, Ristretto with float feature maps)");
  sub->add_option("--overrides", args.overrides,
                  "JSON: {\"layers\": {NAME: {\"wbits\": n}}, \"tensors\": {NAME: {\"abits\": n, "
                  "\"frac\": f}}}");
  sub->add_option("--out", args.out, "output folder (default gammaq_out)");
  sub->add_option("--limit", args.limit, "calibration images to use (default: all of --calib)");
  sub->add_option("--test-limit", args.test_limit, "images to score (default: all)");
  sub->add_option("--batch", args.batch, "images per batch (default 64)");
  sub->add_option("--threads", args.threads, "kernel threads (default: all cores)")
      ->check(CLI::Range(0, 1024));
  sub->add_option("--kernels", args.kernels,
                  "simulation for scoring: fast (oneDNN, default) or reference (exact)")
      ->check(CLI::IsMember({"fast", "reference"}));
  sub->add_option("--tune", args.tune,
                  "backward-forward tuning on --val: none (default), w (weights, WQ+), a "
                  "(feature maps, FQ+), wa (both, WQ+_FQ+)")
      ->check(CLI::IsMember({"none", "w", "a", "wa"}));
  sub->add_option("--bft-k", args.bft_k, "K_BFT: fracs tried around the current one (default 1)");
  sub->add_option("--bft-z", args.bft_z,
                  "significance a tuning move needs: paired z on the validation images "
                  "(default 1.645: one-sided 5%; 0: any gain, the paper)");
  sub->add_option("--metric", args.metric,
                  "what tuning maximizes: top1 (against the labels of --val, default) or "
                  "agreement (top-1 agreement with the float model: --val needs no labels)")
      ->check(CLI::IsMember({"top1", "agreement"}));
  sub->add_option("--map-threshold", args.map_threshold,
                  "maps of one channel: a pixel is foreground above it (mean IoU; default 0.5)");
  sub->add_option("--c0", args.c0, "tuning metric weight of top-1 (default 1)");
  sub->add_option("--c1", args.c1, "tuning metric weight of top-5 (default 0)");
  sub->add_option("--val-limit", args.val_limit, "validation images tuning uses (default: all)");
  sub->add_flag("--no-cache", args.no_cache,
                "tune without prefix caching or score memo (same result, slower)");
  sub->add_flag("--no-memo", args.no_memo,
                "evaluate candidates seen before again (same result; measures the prefix cache)");
  sub->add_option("--cache-mb", args.cache_mb,
                  "bound on the tuning cache (default 4096 MiB; above it, no cache)");
  sub->add_flag("--report", args.report,
                "also measure diagnostics (diagnostics.json) and draw DIR/report.html");
  sub->add_option("--report-images", args.report_images,
                  "images the diagnostics use (default 200, of --test, else --val, else --calib)")
      ->check(CLI::PositiveNumber);
  sub->add_flag("--json", args.json, "print summary.json on stdout");
  sub->add_flag("--quiet", args.quiet, "no progress on stderr");
  args.pre.add_to(*sub);
  sub->callback([&run] { run = run_quantize; });
}

}  // namespace gammaq::cli
