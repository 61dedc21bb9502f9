// gammaq sensitivity MODEL --calib SPEC --val SPEC --bits B: per tensor, the validation top-1
// and output SQNR with only that tensor at B bits; ranked; a suggestion checked by running it.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "common.h"
#include "core/atomic_file.h"
#include "gammaq/error.h"
#include "pipeline/sensitivity.h"
#include "quant/methods/method.h"

namespace gammaq::cli {
namespace {

struct SensitivityArgs {
  std::string model, calib, val, test, out = "gammaq_sensitivity", method = "ggd";
  ImportFlags imp;
  MethodFlags mf;
  int bits = 4, keep_bits = 8, threads = 0, attempts = 6;
  double max_loss = 1.0;
  int64_t limit = -1, val_limit = -1, batch = 64, cache_mb = 4096;
  bool no_cache = false, json = false, quiet = false, report = false;
  PreprocessFlags pre;
} args;

using Json = nlohmann::ordered_json;

Json number_or_null(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }

int run_sensitivity() {
  check_output_path(args.out, OutputKind::Folder, "--out");
  const double t0 = now_seconds();
  const LoadedModel m = load_model(args.model, args.imp.options());
  const Graph& g = m.graph;
  SensitivityOptions o;
  args.mf.apply(o.quant);
  o.quant.method = args.method;
  o.quant.batch = args.batch;
  o.quant.limit = args.limit;
  o.quant.threads = args.threads;
  o.quant.quiet = true;
  o.quant.model_sha256 = file_fingerprint(args.model);
  o.quant.import = m.import;
  check_method_options(o.quant);
  o.bits = args.bits;
  o.keep_bits = args.keep_bits;
  o.max_loss = args.max_loss;
  o.max_attempts = args.attempts;
  o.eval.cache = !args.no_cache;
  o.eval.cache_mb = args.cache_mb;
  o.eval.batch = args.batch;
  o.eval.limit = args.val_limit;
  o.eval.threads = args.threads;
  o.eval.quiet = args.quiet;
  const Preprocess pre = args.pre.resolve(g);
  auto calib = open_data_for(args.calib, pre, g, Need::Images);
  auto val = open_data_for(args.val, pre, g, Need::LabelsOrFloat);
  std::unique_ptr<Dataset> test;
  if (!args.test.empty()) {
    test = open_data_for(args.test, pre, g, Need::LabelsOrFloat);
    o.test = test.get();
  }
  const SensitivityReport r = sensitivity(g, *calib, *val, o);

  Json j;
  j["model"] = g.name;
  j["model_sha256"] = o.quant.model_sha256;
  j["bits"] = r.bits;
  j["method"] = args.method;
  j["granularity"] = args.mf.granularity;
  j["val"] = args.val;
  j["images"] = r.images;
  j["float_top1"] = r.float_top1;
  j["all_top1"] = r.all_top1;
  Json& layers = j["layers"] = Json::array();
  for (const TensorSensitivity& t : r.ranked)
    layers.push_back({{"name", t.name},
                      {"tensor", t.tensor},
                      {"top1", t.top1},
                      {"sqnr_db", number_or_null(t.sqnr_db)},
                      {"loss_points", t.loss_points},
                      {"rerun_mac_fraction", t.rerun_mac_fraction}});
  Json keep = Json::array(), kept = Json::array();
  for (size_t i = 0; i < r.keep; ++i) {
    keep.push_back(r.ranked[i].name);
    kept.push_back({{"name", r.ranked[i].name}, {"tensor", r.ranked[i].tensor}});
  }
  Json attempts = Json::array();
  for (const SensitivityAttempt& a : r.attempts)
    attempts.push_back({{"keep", a.keep},
                        {"predicted_loss", a.predicted_loss},
                        {"measured_loss", a.measured_loss}});
  j["suggestion"] = {{"keep", keep},
                     {"bits", r.keep_bits},
                     {"predicted_loss", r.predicted_loss},
                     {"measured_loss", r.measured_loss},
                     {"max_loss", args.max_loss},
                     {"met", r.met},
                     {"kept", kept},
                     {"attempts", attempts},
                     {"test", args.test.empty() ? Json(nullptr) : Json(args.test)},
                     {"test_loss", number_or_null(r.test_loss)}};
  j["evaluations"] = r.evaluations;
  j["cached"] = r.cached;
  if (!r.cache_note.empty()) j["cache_note"] = r.cache_note;
  j["rerun_mac_fraction"] = r.rerun_mac_fraction;
  j["seconds"] = {
      {"rank", r.seconds_rank}, {"suggest", r.seconds_suggest}, {"total", now_seconds() - t0}};

  // The suggestion as quantize --overrides takes it.
  Json overrides = {{"layers", Json::object()}, {"tensors", Json::object()}};
  for (size_t i = 0; i < r.keep; ++i) {
    const TensorSensitivity& t = r.ranked[i];
    if (t.tensor == "weight")
      overrides["layers"][t.name] = {{"wbits", r.keep_bits}};
    else
      overrides["tensors"][t.name] = {{"abits", r.keep_bits}};
  }
  make_output_folder(args.out);
  write_text_file(args.out + "/sensitivity.json", j.dump(1) + "\n");
  write_text_file(args.out + "/keep.json", overrides.dump(1) + "\n");
  write_text_file(args.out + "/suggested.json", quant::plan_to_json(r.suggested));
  if (args.report) write_report(args.out);
  if (args.json) {
    std::cout << j.dump(1) << "\n";
    return 0;
  }
  std::printf(
      "%s: each tensor alone at %d bits, everything else float; top-1 on %lld images of %s "
      "(float %.2f%%, all at %d bits %.2f%%)\n\n| rank | tensor | name | top-1 %% | loss | "
      "output SQNR dB |\n|---:|---|---|---:|---:|---:|\n",
      g.name.c_str(), r.bits, static_cast<long long>(r.images), args.val.c_str(),
      100 * r.float_top1, r.bits, 100 * r.all_top1);
  for (size_t i = 0; i < r.ranked.size(); ++i) {
    const TensorSensitivity& t = r.ranked[i];
    std::printf("| %zu | %s | %s | %.2f | %.2f | %.1f |\n", i + 1, t.tensor.c_str(), t.name.c_str(),
                100 * t.top1, t.loss_points, t.sqnr_db);
  }
  std::printf(
      "\nsuggestion: keep the first %zu at %d bits: loss %.2f points measured (predicted %.2f, "
      "target %.2f: %s)",
      r.keep, r.keep_bits, r.measured_loss, r.predicted_loss, args.max_loss,
      r.met ? "met" : "NOT met");
  if (std::isfinite(r.test_loss))
    std::printf("; %.2f points on %s", r.test_loss, args.test.c_str());
  std::printf(
      "\n%lld evaluations in %.1f s (%s); wrote %s/sensitivity.json, keep.json, "
      "suggested.json\n",
      static_cast<long long>(r.evaluations), r.seconds_rank + r.seconds_suggest,
      r.cached ? "prefix cache" : ("no cache: " + r.cache_note).c_str(), args.out.c_str());
  return 0;
}

}  // namespace

void add_sensitivity(CLI::App& app, Subcommand& run) {
  CLI::App* sub =
      app.add_subcommand("sensitivity",
                         "rank layers by the accuracy each costs alone at B bits; suggest which to "
                         "keep wider, checked by running it");
  sub->add_option("MODEL", args.model, "ONNX model")->required();
  args.imp.add_to(*sub);
  sub->add_option("--calib", args.calib, "calibration images (SPEC)")->required();
  sub->add_option("--val", args.val, "validation images the ranking is scored on")->required();
  sub->add_option("--test", args.test, "also measure the final suggestion on these images");
  sub->add_option("--bits", args.bits, "the width each tensor is tried at (default 4)");
  sub->add_option("--keep-bits", args.keep_bits,
                  "the width the suggestion keeps its tensors at (default 8)");
  sub->add_option("--max-loss", args.max_loss,
                  "top-1 points the suggestion aims to stay within (default 1)");
  sub->add_option("--attempts", args.attempts,
                  "suggestions checked by running, each keeping more (default 6)")
      ->check(CLI::Range(1, 100));
  sub->add_option("--method", args.method,
                  "feature maps: " + quant::fm_method_names() + " (default ggd)");
  args.mf.add_to(*sub);
  sub->add_option("--out", args.out,
                  "folder for sensitivity.json, keep.json (quantize --overrides) and "
                  "suggested.json (default gammaq_sensitivity)");
  sub->add_option("--limit", args.limit, "calibration images (default: all of --calib)");
  sub->add_option("--val-limit", args.val_limit, "validation images (default: all of --val)");
  sub->add_option("--batch", args.batch, "images per chunk (default 64)");
  sub->add_option("--threads", args.threads, "workers (default: all cores)")
      ->check(CLI::Range(0, 1024));
  sub->add_flag("--no-cache", args.no_cache,
                "run the whole network for every candidate (same result, slower)");
  sub->add_option("--cache-mb", args.cache_mb, "bound on the prefix cache (default 4096 MiB)");
  sub->add_flag("--report", args.report, "also draw OUT/report.html");
  sub->add_flag("--json", args.json, "print sensitivity.json on stdout");
  sub->add_flag("--quiet", args.quiet, "no progress on stderr");
  args.pre.add_to(*sub);
  sub->callback([&run] { run = run_sensitivity; });
}

}  // namespace gammaq::cli
