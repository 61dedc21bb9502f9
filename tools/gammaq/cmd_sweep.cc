// gammaq sweep MODEL.onnx --calib SPEC --val SPEC [--test SPEC] --bits 4,6,8,10,16
//              --schemes ristretto-float,ristretto,WQ,WQ_FQ [--out DIR]
// The paper's Table 1 for one model: top-1 per scheme and bit width (same width for weights
// and feature maps), saved as sweep.json and sweep.md.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common.h"
#include "core/atomic_file.h"
#include "engine/fake_quant.h"
#include "gammaq/error.h"
#include "gammaq/evaluate.h"
#include "pipeline/quantize.h"
#include "pipeline/tune.h"

namespace gammaq::cli {
namespace {

struct SweepArgs {
  std::string model, calib, val, test, out = "gammaq_sweep", mode = "default";
  ImportFlags imp;
  std::vector<int> bits{4, 6, 8, 10, 16};
  std::vector<std::string> schemes{"ristretto-float", "ristretto", "WQ",     "WQ+",
                                   "WQ_FQ",           "WQ_FQ+",    "WQ+_FQ+"};
  int64_t limit = -1, test_limit = -1, batch = 64, val_limit = -1;
  int threads = 0, bft_k = 1;
  double bft_z = 1.645;
  bool no_cache = false;
  bool quiet = false, report = false;
  PreprocessFlags pre;
} args;

// The paper's names (6.2) and its two Ristretto rows.
QuantizeOptions scheme_options(const std::string& scheme, int bits) {
  QuantizeOptions o;
  o.wbits = o.abits = bits;
  o.mode = quant::parse_fm_mode(args.mode);
  o.batch = args.batch;
  o.limit = args.limit;
  o.threads = args.threads;
  o.quiet = true;
  if (scheme == "ristretto-float") {
    o.method = "ristretto";
    o.float_activations = true;
  } else if (scheme == "ristretto") {
    o.method = "ristretto";
  } else if (scheme == "WQ" || scheme == "WQ+") {
    o.float_activations = true;
  } else if (scheme == "WQ_FQ" || scheme == "WQ_FQ+" || scheme == "WQ+_FQ+") {
  } else {
    throw Error(ErrorKind::InvalidOption,
                str_cat("--schemes: unknown scheme '", scheme,
                        "' (ristretto-float, ristretto, WQ, WQ+, WQ_FQ, WQ_FQ+, WQ+_FQ+)"));
  }
  o.tune_options.k = args.bft_k;
  o.tune_options.z = args.bft_z;
  o.tune_options.cache = !args.no_cache;
  o.tune_options.memo = !args.no_cache;
  o.tune_options.limit = args.val_limit;
  o.tune_options.batch = args.batch;
  o.tune_options.threads = args.threads;
  o.tune_options.quiet = true;
  return o;
}

bool tuned(const std::string& scheme) { return scheme.find('+') != std::string::npos; }

int run_sweep() {
  check_output_path(args.out, OutputKind::Folder, "--out");
  const LoadedModel m = load_model(args.model, args.imp.options());
  const Graph& g = m.graph;
  for (int b : args.bits)
    if (b < 2 || b > 16)
      throw Error(ErrorKind::InvalidOption, str_cat("--bits ", b, ": must be in 2..16"));
  bool any_tuned = false;
  for (const auto& s : args.schemes) {  // validate names up front
    (void)scheme_options(s, 8);
    any_tuned = any_tuned || tuned(s);
  }
  check_tune_options(scheme_options("WQ+_FQ+", 8).tune_options);
  if (any_tuned && (args.val.empty() || args.test.empty()))
    throw Error(ErrorKind::InvalidOption,
                "the tuned schemes (WQ+, WQ_FQ+, WQ+_FQ+) need --val to tune on and --test to "
                "score on (or leave them out with --schemes)");
  const Preprocess pre = args.pre.resolve(g);
  auto calib = open_data_for(args.calib, pre, g, Need::Images);
  const std::string score_spec = !args.test.empty() ? args.test : args.val;
  if (score_spec.empty())
    throw Error(ErrorKind::InvalidOption, "sweep needs --val or --test to score on");
  auto score = open_data_for(score_spec, pre, g, Need::LabelsOrFloat);
  std::unique_ptr<Dataset> val;
  if (any_tuned) val = open_data_for(args.val, pre, g, Need::LabelsOrFloat);
  const std::string fingerprint = file_fingerprint(args.model);

  EvalOptions eo;
  eo.batch = args.batch;
  eo.limit = args.test_limit;
  const Accuracy fa = evaluate_plan(g, nullptr, *score, args.threads, eo);

  nlohmann::ordered_json j;
  j["model"] = g.name;
  j["model_sha256"] = fingerprint;
  j["calib"] = args.calib;
  j["scored_on"] = score_spec;
  j["mode"] = args.mode;
  j["float"] = {{"top1", fa.top1()}, {"top5", fa.top5()}, {"images", fa.images}};
  j["bits"] = args.bits;
  auto& rows = j["rows"] = nlohmann::ordered_json::array();
  std::ostringstream md;
  md << "| scheme |";
  for (int b : args.bits) md << " " << b << " bit |";
  md << "\n|---|";
  for (size_t i = 0; i < args.bits.size(); ++i) md << "---:|";
  md << "\n";
  const double t0 = now_seconds();
  // Local feature-map SQNR per scheme, bit width and tensor (for the GGD vs eq. 8 count).
  std::map<std::string, std::map<int, std::map<std::string, double>>> fm_sqnr;
  std::map<std::pair<std::string, int>, quant::QuantPlan> plans;  // (scheme, bits)
  for (const auto& scheme : args.schemes) {
    nlohmann::ordered_json row;
    row["scheme"] = scheme;
    md << "| " << scheme << " |";
    for (int b : args.bits) {
      QuantizeOptions o = scheme_options(scheme, b);
      o.model_sha256 = fingerprint;
      o.import = m.import;
      // The tuned schemes start from the plans their untuned forms produced at this width
      // (computed here when those rows are not in the sweep): WQ+ tunes WQ's weights,
      // WQ_FQ+ tunes WQ_FQ's feature maps, WQ+_FQ+ chooses feature maps for WQ+'s weights
      // and tunes them.
      std::function<const quant::QuantPlan&(const std::string&)> plan_of;
      plan_of = [&](const std::string& s) -> const quant::QuantPlan& {
        auto it = plans.find({s, b});
        if (it != plans.end()) return it->second;
        if (s == "WQ+") {
          quant::QuantPlan p = plan_of("WQ");
          (void)tune_plan(g, p, *val, true, o.tune_options);
          return plans[{s, b}] = p;
        }
        QuantizeOptions so = scheme_options(s, b);
        so.model_sha256 = fingerprint;
        so.import = m.import;
        return plans[{s, b}] = quantize_model(g, *calib, so).plan;
      };
      quant::QuantPlan plan;
      if (scheme == "WQ+") {
        plan = plan_of("WQ+");
      } else if (scheme == "WQ_FQ+") {
        plan = plan_of("WQ_FQ");
        (void)tune_plan(g, plan, *val, false, o.tune_options);
      } else if (scheme == "WQ+_FQ+") {
        o.weights_from = &plan_of("WQ+");
        plan = quantize_model(g, *calib, o).plan;
        (void)tune_plan(g, plan, *val, false, o.tune_options);
      } else {
        plan = plan_of(scheme);
      }
      for (const auto& [name, a] : plan.activations) fm_sqnr[scheme][b][name] = a.sqnr_db;
      const Accuracy qa = evaluate_plan(g, &plan, *score, args.threads, eo);
      row["top1"].push_back(qa.top1());
      row["top5"].push_back(qa.top5());
      row["tied_top1"].push_back(qa.tied_top1);
      char cell[32];
      std::snprintf(cell, sizeof cell, " %.2f |", 100.0 * qa.top1());
      md << cell;
      if (!args.quiet)
        std::fprintf(stderr, "sweep %s: %s %d bit: top-1 %.4f (float %.4f) [%.0f s]\n",
                     g.name.c_str(), scheme.c_str(), b, qa.top1(), fa.top1(), now_seconds() - t0);
    }
    md << "\n";
    rows.push_back(row);
  }
  // ALGORITHMS.md 6.1 / issue target: on how many tensors GGD's local feature-map SQNR is at
  // least eq. (8)'s, per bit width (same weights rule as each scheme: Algorithm 1 vs eq. 8).
  std::string sqnr_md;
  if (fm_sqnr.count("WQ_FQ") && fm_sqnr.count("ristretto")) {
    auto& cmp = j["fm_sqnr_ggd_vs_ristretto"] = nlohmann::ordered_json::array();
    sqnr_md =
        "\nFeature-map SQNR (local, calibration data), WQ_FQ (GGD) vs Ristretto eq. (8):\n\n"
        "| bits | tensors | GGD >= eq. 8 | median gain dB |\n|---:|---:|---:|---:|\n";
    for (int b : args.bits) {
      int n = 0, at_least = 0;
      std::vector<double> gain;
      for (const auto& [name, gs] : fm_sqnr["WQ_FQ"][b]) {
        auto it = fm_sqnr["ristretto"][b].find(name);
        if (it == fm_sqnr["ristretto"][b].end() || std::isnan(gs) || std::isnan(it->second))
          continue;
        ++n;
        at_least += gs >= it->second;
        if (std::isfinite(gs) && std::isfinite(it->second)) gain.push_back(gs - it->second);
      }
      double median = std::numeric_limits<double>::quiet_NaN();
      if (!gain.empty()) {
        std::sort(gain.begin(), gain.end());
        median = gain[gain.size() / 2];
      }
      cmp.push_back({{"bits", b},
                     {"tensors", n},
                     {"ggd_at_least_ristretto", at_least},
                     {"median_gain_db", std::isfinite(median) ? nlohmann::ordered_json(median)
                                                              : nlohmann::ordered_json(nullptr)}});
      char line[128];
      std::snprintf(line, sizeof line, "| %d | %d | %d | %+.2f |\n", b, n, at_least, median);
      sqnr_md += line;
    }
  }
  char head[256];
  std::snprintf(head, sizeof head,
                "%s: top-1 [%%] on %s (%lld images), float %.2f%%; calibration %s\n\n",
                g.name.c_str(), score_spec.c_str(), static_cast<long long>(fa.images),
                100.0 * fa.top1(), args.calib.c_str());
  make_output_folder(args.out);
  write_text_file(args.out + "/sweep.json", j.dump(1) + "\n");
  write_text_file(args.out + "/sweep.md", std::string(head) + md.str() + sqnr_md);
  if (args.report) write_report(args.out);
  std::printf("%s%s%s", head, md.str().c_str(), sqnr_md.c_str());
  return 0;
}

}  // namespace

void add_sweep(CLI::App& app, Subcommand& run) {
  CLI::App* sub =
      app.add_subcommand("sweep", "accuracy per scheme and bit width (the paper's Table 1)");
  sub->add_option("MODEL", args.model, "ONNX model")->required();
  args.imp.add_to(*sub);
  sub->add_option("--calib", args.calib, "calibration images (SPEC)")->required();
  sub->add_option("--val", args.val, "validation images (scored when --test is absent)");
  sub->add_option("--test", args.test, "images to score on");
  sub->add_option("--bits", args.bits, "bit widths, e.g. 4,6,8,10,16")->delimiter(',');
  sub->add_option("--schemes", args.schemes,
                  "ristretto-float,ristretto,WQ,WQ+,WQ_FQ,WQ_FQ+,WQ+_FQ+ (default: all)")
      ->delimiter(',');
  sub->add_option("--val-limit", args.val_limit, "validation images tuning uses (default: all)");
  sub->add_option("--bft-k", args.bft_k, "K_BFT (default 1)");
  sub->add_option("--bft-z", args.bft_z,
                  "significance a tuning move needs (default 1.645; 0: the paper)");
  sub->add_flag("--no-cache", args.no_cache, "tune without prefix caching or score memo");
  sub->add_option("--mode", args.mode, "feature-map mode: default | fast | fast-paper | exact");
  sub->add_option("--out", args.out, "output folder (default gammaq_sweep)");
  sub->add_option("--limit", args.limit, "calibration images to use");
  sub->add_option("--test-limit", args.test_limit, "images to score");
  sub->add_option("--batch", args.batch, "images per batch (default 64)");
  sub->add_option("--threads", args.threads, "kernel threads")->check(CLI::Range(0, 1024));
  sub->add_flag("--report", args.report, "also draw OUT/report.html (accuracy against bits)");
  sub->add_flag("--quiet", args.quiet, "no progress on stderr");
  args.pre.add_to(*sub);
  sub->callback([&run] { run = run_sweep; });
}

}  // namespace gammaq::cli
