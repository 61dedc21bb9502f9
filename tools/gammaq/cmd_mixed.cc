// gammaq mixed MODEL.onnx --calib SPEC --test SPEC [--val SPEC] --what w|a --low 4 --high 8
//              [--thresholds ...] [--keep-critical] [--budget-bits B] [--max-loss L]
// Mixed precision by SQNR: the paper's Tables 2 (weights) and 3 (feature maps) for one model,
// the critical-layer rule of Table 4, and the two budget questions users ask.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common.h"
#include "core/atomic_file.h"
#include "engine/fake_quant.h"
#include "gammaq/error.h"
#include "gammaq/evaluate.h"
#include "pipeline/mixed.h"

namespace gammaq::cli {
namespace {

struct MixedArgs {
  std::string model, calib, val, test, out = "gammaq_mixed", what = "w";
  ImportFlags imp;
  std::vector<std::string> thresholds;
  int low = 4, high = 8, threads = 0;
  int64_t batch = 64, limit = -1;
  double budget_bits = 0, max_loss = -1;
  bool keep_critical = false, quiet = false;
  PreprocessFlags pre;
} args;

double parse_threshold(const std::string& s) {
  if (s == "inf" || s == "+inf") return std::numeric_limits<double>::infinity();
  if (s == "-inf") return -std::numeric_limits<double>::infinity();
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != s.size() || s.empty() || std::isnan(v))
    throw Error(ErrorKind::InvalidOption,
                str_cat("--thresholds '", s, "': expected a number in dB, inf or -inf"));
  return v;
}

int run_mixed() {
  check_output_path(args.out, OutputKind::Folder, "--out");
  const LoadedModel m = load_model(args.model, args.imp.options());
  const Graph& g = m.graph;
  MixedOptions mo;
  if (args.what != "w" && args.what != "a" && args.what != "wa")
    throw Error(ErrorKind::InvalidOption, str_cat("--what '", args.what, "': expected w, a or wa"));
  mo.weights = args.what == "w";
  mo.joint = args.what == "wa";
  mo.low = args.low;
  mo.high = args.high;
  mo.keep_critical = args.keep_critical;
  std::vector<double> taus;
  if (args.thresholds.empty())
    taus = mo.weights || mo.joint ? std::vector<double>{-INFINITY, 8, 10, 12, INFINITY}
                                  : std::vector<double>{13, 14, 15, 16, INFINITY};
  for (const std::string& t : args.thresholds) taus.push_back(parse_threshold(t));
  if (args.max_loss >= 0 && args.val.empty())
    throw Error(ErrorKind::InvalidOption, "--max-loss needs --val (the loss is measured there)");
  if (args.budget_bits != 0 && (args.budget_bits < args.low || args.budget_bits > args.high))
    throw Error(ErrorKind::InvalidOption,
                str_cat("--budget-bits ", args.budget_bits, ": must lie between --low and --high"));

  const Preprocess pre = args.pre.resolve(g);
  auto calib = open_data_for(args.calib, pre, g, Need::Images);
  auto test = open_data_for(args.test, pre, g, Need::LabelsOrFloat);
  std::unique_ptr<Dataset> val;
  if (!args.val.empty()) val = open_data_for(args.val, pre, g, Need::LabelsOrFloat);

  QuantizeOptions base;
  base.batch = args.batch;
  base.limit = args.limit;
  base.threads = args.threads;
  base.quiet = true;
  base.model_sha256 = file_fingerprint(args.model);
  base.import = m.import;
  EvalOptions eo;
  eo.batch = args.batch;
  auto score = [&](const quant::QuantPlan* plan, Dataset& data) {
    return evaluate_plan(g, plan, data, args.threads, eo);
  };
  const Accuracy fa = score(nullptr, *test);
  const std::vector<Sensitivity> ranked = rank_by_sqnr(g, *calib, base, mo);

  nlohmann::ordered_json j;
  j["model"] = g.name;
  j["what"] = mo.joint ? "weights and feature maps" : mo.weights ? "weights" : "feature maps";
  j["low"] = mo.low;
  j["high"] = mo.high;
  j["keep_critical"] = mo.keep_critical;
  j["float"] = {{"top1", fa.top1()}, {"images", fa.images}};
  auto& rank_j = j["ranked"] = nlohmann::ordered_json::array();
  for (const Sensitivity& s : ranked)
    rank_j.push_back({{"name", s.name},
                      {"sqnr_db", std::isfinite(s.sqnr_db) ? nlohmann::ordered_json(s.sqnr_db)
                                                           : nlohmann::ordered_json(nullptr)},
                      {"critical", s.critical},
                      {"kind", s.is_weight ? "weight" : "feature map"}});
  std::ostringstream md;
  char line[256];
  md << str_cat(g.name, ": ",
                mo.joint     ? std::string("weights and feature maps")
                : mo.weights ? std::string("weights (feature maps float)")
                             : str_cat("feature maps (weights ", mo.high, " bit)"),
                " ", mo.low, " -> ", mo.high, " bit by SQNR threshold",
                mo.keep_critical ? ", critical layers high" : "", "; top-1 [%] on ", args.test)
     << str_cat(", float ", 100 * fa.top1(), "\n\n")
     << "| threshold dB | promoted | ratio | average bits | top-1 |\n|---:|---:|---:|---:|---:|\n";
  auto& rows = j["thresholds"] = nlohmann::ordered_json::array();
  for (double tau : taus) {
    const size_t k = promoted_by_threshold(ranked, tau);
    const QuantizeReport rep = quantize_model(g, *calib, promote(base, mo, ranked, k));
    const Accuracy qa = score(&rep.plan, *test);
    const double ratio = ranked.empty() ? 0.0 : double(k) / double(ranked.size());
    const double avg = average_bits(ranked, mo, k);
    rows.push_back(
        {{"threshold_db", std::isfinite(tau) ? nlohmann::ordered_json(tau)
                                             : nlohmann::ordered_json(tau > 0 ? "inf" : "-inf")},
         {"promoted", k},
         {"ratio", ratio},
         {"average_bits", avg},
         {"top1", qa.top1()},
         {"tied_top1", qa.tied_top1}});
    std::snprintf(line, sizeof line, "| %s | %zu / %zu | %.1f%% | %.2f | %.2f |\n",
                  std::isfinite(tau) ? str_cat(tau).c_str() : (tau > 0 ? "inf" : "-inf"), k,
                  ranked.size(), 100 * ratio, avg, 100 * qa.top1());
    md << line;
    if (!args.quiet)
      std::fprintf(stderr, "mixed: threshold %g dB: %zu promoted, top-1 %.4f\n", tau, k, qa.top1());
  }

  // Budget questions: promote the lowest-SQNR tensors first.
  quant::QuantPlan chosen;
  bool have_chosen = false;
  auto report_choice = [&](const char* what, size_t k) {
    const QuantizeReport rep = quantize_model(g, *calib, promote(base, mo, ranked, k));
    const Accuracy qa = score(&rep.plan, *test);
    j[what] = {{"promoted", k},
               {"average_bits", average_bits(ranked, mo, k)},
               {"top1", qa.top1()},
               {"loss_points", 100 * (fa.top1() - qa.top1())}};
    std::snprintf(line, sizeof line,
                  "\n%s: %zu of %zu promoted, %.2f bits on average, top-1 %.2f (loss %.2f)\n", what,
                  k, ranked.size(), average_bits(ranked, mo, k), 100 * qa.top1(),
                  100 * (fa.top1() - qa.top1()));
    md << line;
    chosen = rep.plan;
    have_chosen = true;
  };
  if (args.budget_bits != 0) {
    size_t k = 0;
    while (k < ranked.size() && average_bits(ranked, mo, k + 1) <= args.budget_bits) ++k;
    report_choice("budget", k);
  }
  if (args.max_loss >= 0) {
    const Accuracy fv = score(nullptr, *val);
    auto ok = [&](size_t k) {
      const QuantizeReport rep = quantize_model(g, *calib, promote(base, mo, ranked, k));
      return 100 * (fv.top1() - score(&rep.plan, *val).top1()) <= args.max_loss;
    };
    // Fewest promotions meeting the loss on --val (binary search: promoting more never makes
    // the SQNR worse; accuracy is assumed to follow).
    size_t lo = 0, hi = ranked.size();
    if (!ok(hi)) lo = hi;
    while (lo < hi) {
      const size_t mid = (lo + hi) / 2;
      if (ok(mid))
        hi = mid;
      else
        lo = mid + 1;
    }
    report_choice("max_loss", lo);
  }

  make_output_folder(args.out);
  write_text_file(args.out + "/mixed.json", j.dump(1) + "\n");
  write_text_file(args.out + "/mixed.md", md.str());
  if (have_chosen) write_text_file(args.out + "/quant.json", quant::plan_to_json(chosen));
  std::printf("%s", md.str().c_str());
  return 0;
}

}  // namespace

void add_mixed(CLI::App& app, Subcommand& run) {
  CLI::App* sub = app.add_subcommand(
      "mixed", "mixed precision by SQNR threshold (the paper's Tables 2-4) and bit budgets");
  sub->add_option("MODEL", args.model, "ONNX model")->required();
  args.imp.add_to(*sub);
  sub->add_option("--calib", args.calib, "calibration images (SPEC)")->required();
  sub->add_option("--test", args.test, "images to score on")->required();
  sub->add_option("--val", args.val, "validation images (for --max-loss)");
  sub->add_option("--what", args.what,
                  "w (weight widths, float feature maps), a (feature maps, weights high) or wa "
                  "(both low, ranked together)");
  sub->add_option("--low", args.low, "low width (default 4)");
  sub->add_option("--high", args.high, "high width (default 8)");
  sub->add_option("--thresholds", args.thresholds,
                  "SQNR thresholds in dB (default: -inf,8,10,12,inf for w; 13,14,15,16,inf for a)")
      ->delimiter(',');
  sub->add_flag("--keep-critical", args.keep_critical,
                "the first layer and the classifier always get the high width");
  sub->add_option("--budget-bits", args.budget_bits,
                  "also: most promotions with at most B bits on average");
  sub->add_option("--max-loss", args.max_loss,
                  "also: fewest promotions with a top-1 loss <= L points on --val");
  sub->add_option("--out", args.out, "output folder (default gammaq_mixed)");
  sub->add_option("--limit", args.limit, "calibration images to use");
  sub->add_option("--batch", args.batch, "images per batch (default 64)");
  sub->add_option("--threads", args.threads, "kernel threads")->check(CLI::Range(0, 1024));
  sub->add_flag("--quiet", args.quiet, "no progress on stderr");
  args.pre.add_to(*sub);
  sub->callback([&run] { run = run_mixed; });
}

}  // namespace gammaq::cli
