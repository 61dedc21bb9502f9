// gammaq compare MODEL.onnx --calib SPEC --test SPEC [--val SPEC] --bits 4,6,8
//                [--methods all|ggd,kl,...] [--out DIR] [--json]
// Every feature-map method side by side: one table per width with a row per method, all
// rows from one calibration pass and one second pass (pipeline/compare.h), weights by
// Algorithm 1 in every row. Saved as DIR/compare.md and DIR/compare.json, with each row's
// plan as DIR/plans/METHOD-wBaB.json (eval --quant reads it).
#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common.h"
#include "core/atomic_file.h"
#include "gammaq/error.h"
#include "gammaq/evaluate.h"
#include "pipeline/compare.h"
#include "quant/methods/method.h"

namespace gammaq::cli {
namespace {

struct CompareArgs {
  std::string model, calib, val, test, out, calib_weights = "float";
  ImportFlags imp;
  std::vector<int> bits{4, 6, 8};
  std::vector<std::string> methods{"all"}, wmethods;
  MethodFlags mf;
  int threads = 0;
  int64_t limit = -1, test_limit = -1, val_limit = -1, batch = 64;
  double warn_points = 1.0;
  bool quiet = false, json = false, report = false;
  PreprocessFlags pre;
} args;

// What decides a plan's outputs: every format, threshold table and codebook (two rows that
// agree share one evaluation).
std::string plan_key(const quant::QuantPlan& p) {
  std::ostringstream k;
  auto fmt = [&](const quant::Format& f) {
    k << f.bits << ',' << f.frac << ',' << f.is_signed << ';';
    if (f.table) {
      k << 'T' << f.table->zero_bin;
      for (int32_t t : f.table->thresholds) k << ',' << t;
      k << 'L';
      for (int32_t l : f.table->levels) k << ',' << l;
      k << ';';
    }
  };
  for (const auto& [name, a] : p.activations) {
    k << name << '=';
    fmt(a.format);
  }
  for (const auto& [name, l] : p.layers) {
    k << name << '=';
    fmt(l.weight);
    fmt(l.bias);
    k << l.bias_at_accumulator << ':';
    for (int f : l.weight_channel_frac) k << f << ',';
    for (const quant::Codebook& cb : l.weight_codebooks) {
      k << 'B';
      for (int32_t v : cb.bounds) k << ',' << v;
      k << 'L';
      for (int32_t v : cb.levels) k << ',' << v;
    }
    for (double b : l.bias_correction) k << ',' << b;
  }
  return k.str();
}

nlohmann::ordered_json number_or_null(double v) {
  return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr);
}

struct Scored {
  Accuracy test, val;
  std::string first_method;  // the row that evaluated this plan
};

int run_compare() {
  if (!args.out.empty()) check_output_path(args.out, OutputKind::Folder, "--out");
  const double t_start = now_seconds();
  const LoadedModel m = load_model(args.model, args.imp.options());
  const Graph& g = m.graph;
  CompareOptions co;
  co.bits = args.bits;
  for (const std::string& name : args.methods) {
    if (name == "all") {
      for (const quant::FmMethod& fm : quant::fm_methods()) co.methods.emplace_back(fm.name);
    } else {
      co.methods.push_back(name);
    }
  }
  co.stats_per_width = args.calib_weights == "quantized";
  if (args.report && args.out.empty())
    throw Error(ErrorKind::InvalidOption, "--report needs --out (the folder the report reads)");
  if (!(args.warn_points >= 0))
    throw Error(ErrorKind::InvalidOption, "--warn-points: must be a number >= 0");
  QuantizeOptions base;
  args.mf.apply(base);
  if (base.bias_correction)
    throw Error(ErrorKind::InvalidOption,
                "--bias-correction: compare does not correct biases (use quantize)");
  // The weight rules: one from the flags (Algorithm 1, --wlevels, --wthreshold), or
  // --wmethods' list, each crossed with every method.
  check_method_options(base);
  for (const std::string& w : args.wmethods) co.wmethods.push_back(parse_weight_rule(w));
  if (!co.wmethods.empty() && (base.wlevels > 0 || !base.wthreshold.empty()))
    throw Error(ErrorKind::InvalidOption, "--wmethods: not with --wlevels or --wthreshold");
  const bool several_rules = co.wmethods.size() > 1;
  std::string wtitle;
  for (const WeightRule& r :
       co.wmethods.empty() ? std::vector<WeightRule>{weight_rule_of(base)} : co.wmethods)
    wtitle += (wtitle.empty() ? "" : ", ") + r.name;
  auto row_name = [&](const CompareRow& r) {
    return several_rules ? str_cat(r.method, "-", r.wmethod) : r.method;
  };
  auto plan_file = [&](const CompareRow& r) {
    return str_cat("plans/", row_name(r), "-w", r.bits, "a", r.bits, ".json");
  };
  base.batch = args.batch;
  base.limit = args.limit;
  base.threads = args.threads;
  base.quiet = args.quiet;
  base.model_sha256 = file_fingerprint(args.model);
  base.import = m.import;

  const Preprocess pre = args.pre.resolve(g);
  auto calib = open_data_for(args.calib, pre, g, Need::Images);
  auto test = open_data_for(args.test, pre, g, Need::LabelsOrFloat);
  std::unique_ptr<Dataset> val;
  if (!args.val.empty()) val = open_data_for(args.val, pre, g, Need::LabelsOrFloat);

  CompareReport rep = compare_methods(g, *calib, base, co);  // validates methods and widths
  for (const std::string& w : rep.warnings)
    std::fprintf(stderr, "gammaq: warning: %s\n", printable(w).c_str());

  EvalOptions eo;
  eo.batch = args.batch;
  eo.limit = args.test_limit;
  EvalOptions vo = eo;
  vo.limit = args.val_limit;
  const double t_eval = now_seconds();
  const Accuracy fa = evaluate_plan(g, nullptr, *test, args.threads, eo);
  Accuracy fv;
  if (val) fv = evaluate_plan(g, nullptr, *val, args.threads, vo);
  std::map<std::string, Scored> scored;
  std::vector<const Scored*> row_score;
  int evaluations = 0;
  for (const CompareRow& r : rep.rows) {
    const std::string key = plan_key(r.plan);
    auto it = scored.find(key);
    if (it == scored.end()) {
      Scored s;
      s.test = evaluate_plan(g, &r.plan, *test, args.threads, eo);
      if (val) s.val = evaluate_plan(g, &r.plan, *val, args.threads, vo);
      s.first_method = row_name(r);
      ++evaluations;
      it = scored.emplace(key, std::move(s)).first;
    }
    row_score.push_back(&it->second);
    if (!args.quiet)
      std::fprintf(stderr, "compare %s: %d bit %-10s top-1 %.4f%s [%.0f s]\n", g.name.c_str(),
                   r.bits, row_name(r).c_str(), it->second.test.top1(),
                   it->second.first_method != row_name(r)
                       ? (" (same plan as " + it->second.first_method + ")").c_str()
                       : "",
                   now_seconds() - t_start);
  }
  const double eval_seconds = now_seconds() - t_eval;

  // The warning column: a row whose top-1 (on --val when given, else on --test) falls more
  // than --warn-points under the best row of its width, with the tensor that explains it: the
  // one whose local SQNR lies furthest under the best row's.
  std::vector<std::string> warning(rep.rows.size());
  for (size_t i = 0; i < rep.rows.size(); ++i) {
    auto top1_of = [&](size_t k) {
      return val ? row_score[k]->val.top1() : row_score[k]->test.top1();
    };
    size_t best = i;
    for (size_t k = 0; k < rep.rows.size(); ++k)
      if (rep.rows[k].bits == rep.rows[i].bits && top1_of(k) > top1_of(best)) best = k;
    const double gap = 100.0 * (top1_of(best) - top1_of(i));
    if (gap <= args.warn_points) continue;
    std::string worst;
    double deficit = 0, mine = 0, theirs = 0;
    for (const auto& [name, a] : rep.rows[i].plan.activations) {
      const double b = rep.rows[best].plan.activations.at(name).sqnr_db;
      if (!std::isfinite(a.sqnr_db) || !std::isfinite(b) || b - a.sqnr_db <= deficit) continue;
      deficit = b - a.sqnr_db;
      worst = name;
      mine = a.sqnr_db;
      theirs = b;
    }
    char w[512];
    std::snprintf(w, sizeof w, "top-1 %.2f points under %s on %s", gap,
                  row_name(rep.rows[best]).c_str(), val ? "--val" : "--test");
    warning[i] = w;
    if (!worst.empty()) {
      std::snprintf(w, sizeof w, "; furthest behind on '%s' (SQNR %.1f dB vs %.1f dB)",
                    worst.c_str(), mine, theirs);
      warning[i] += w;
    }
  }

  nlohmann::ordered_json j;
  j["model"] = g.name;
  j["model_sha256"] = base.model_sha256;
  j["calib"] = args.calib;
  j["scored_on"] = args.test;
  if (val) j["warnings_on"] = args.val;
  j["calibration_images"] = rep.calibration_images;
  j["calib_weights"] = args.calib_weights;
  j["float"] = {{"top1", fa.top1()}, {"top5", fa.top5()}, {"images", fa.images}};
  if (val) j["float_val"] = {{"top1", fv.top1()}, {"top5", fv.top5()}, {"images", fv.images}};
  // Feature maps in graph order (the report draws SQNR per layer in this order).
  auto& order = j["tensors"] = nlohmann::ordered_json::array();
  std::vector<int> ids{g.input};
  for (const Node& n : g.nodes) ids.push_back(n.outputs[0]);
  for (int id : ids)
    if (!rep.rows.empty() && rep.rows.front().plan.activations.count(g.values[id].name))
      order.push_back(g.values[id].name);
  j["passes"] = rep.passes;
  j["evaluations"] = evaluations;
  j["shared_seconds"] = {{"calibrate", rep.seconds_calibrate},
                         {"errors", rep.seconds_errors},
                         {"evaluate", eval_seconds}};
  auto& rows = j["rows"] = nlohmann::ordered_json::array();
  std::ostringstream md;
  char line[1024];
  std::snprintf(line, sizeof line,
                "%s: feature-map methods side by side; weights %s (%s); top-1/top-5 [%%] "
                "on %s (%lld images), float %.2f / %.2f\n\n"
                "Statistics from %lld images of %s (%s weights) in %d network passes for all "
                "%zu rows (%.1f s + %.1f s); %d distinct plans evaluated.\n",
                g.name.c_str(), wtitle.c_str(), args.mf.granularity.c_str(), args.test.c_str(),
                static_cast<long long>(fa.images), 100 * fa.top1(), 100 * fa.top5(),
                static_cast<long long>(rep.calibration_images), args.calib.c_str(),
                args.calib_weights.c_str(), rep.passes, rep.rows.size(), rep.seconds_calibrate,
                rep.seconds_errors, evaluations);
  md << line;
  int shown_bits = -1;
  for (size_t i = 0; i < rep.rows.size(); ++i) {
    const CompareRow& r = rep.rows[i];
    const Scored& s = *row_score[i];
    double sum = 0, lo = std::numeric_limits<double>::infinity(), entropy = 0;
    int n = 0, ne = 0;
    for (const auto& [name, a] : r.plan.activations) {
      if (auto h = a.fit.find("code_entropy_bits"); h != a.fit.end()) entropy += h->second, ++ne;
      if (!std::isfinite(a.sqnr_db)) continue;
      sum += a.sqnr_db;
      lo = std::min(lo, a.sqnr_db);
      ++n;
    }
    const double mean = n ? sum / n : std::numeric_limits<double>::quiet_NaN();
    nlohmann::ordered_json row;
    row["bits"] = r.bits;
    row["method"] = r.method;
    row["wmethod"] = r.wmethod;
    row["top1"] = s.test.top1();
    row["top5"] = s.test.top5();
    row["ties"] = s.test.tied_top1;
    row["loss_points"] = 100 * (fa.top1() - s.test.top1());
    row["fm_sqnr_mean_db"] = number_or_null(mean);
    row["fm_sqnr_min_db"] = number_or_null(lo);
    // Mean over feature maps of the entropy of their codes on the calibration data.
    const double code_bits = ne ? entropy / ne : std::numeric_limits<double>::quiet_NaN();
    row["fm_code_entropy_mean_bits"] = number_or_null(code_bits);
    row["seconds"] = r.seconds;
    row["warning"] =
        warning[i].empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(warning[i]);
    if (val) row["val_top1"] = s.val.top1();
    row["same_plan_as"] = s.first_method != row_name(r) ? nlohmann::ordered_json(s.first_method)
                                                        : nlohmann::ordered_json(nullptr);
    row["plan"] = plan_file(r);
    row["notes"] = r.warnings;
    rows.push_back(row);
    if (r.bits != shown_bits) {
      shown_bits = r.bits;
      md << "\n### w" << r.bits << "a" << r.bits << "\n\n"
         << (several_rules ? "| method | weights " : "| method ")
         << "| top-1 | top-5 | loss | tied | FM SQNR mean dB | min dB | code entropy b | "
            "choose s | warning |\n|---|"
         << (several_rules ? "---|" : "") << "---:|---:|---:|---:|---:|---:|---:|---:|---|\n";
    }
    std::snprintf(line, sizeof line,
                  "| %s | %.2f | %.2f | %.2f | %lld | %.1f | %.1f | %.2f | %.3f | %s |\n",
                  several_rules ? (r.method + " | " + r.wmethod).c_str() : r.method.c_str(),
                  100 * s.test.top1(), 100 * s.test.top5(), 100 * (fa.top1() - s.test.top1()),
                  static_cast<long long>(s.test.tied_top1), mean, lo, code_bits, r.seconds,
                  warning[i].c_str());
    md << line;
  }
  j["seconds_total"] = now_seconds() - t_start;
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  j["peak_rss_mib"] = static_cast<double>(ru.ru_maxrss) / 1024.0;  // Linux: KiB

  if (!args.out.empty()) {
    make_output_folder(args.out + "/plans");
    for (const CompareRow& r : rep.rows)
      write_text_file(args.out + "/" + plan_file(r), quant::plan_to_json(r.plan));
    write_text_file(args.out + "/compare.json", j.dump(1) + "\n");
    write_text_file(args.out + "/compare.md", md.str());
    if (args.report) write_report(args.out);
  }
  if (args.json)
    std::cout << j.dump(1) << "\n";
  else
    std::printf("%s", md.str().c_str());
  return 0;
}

}  // namespace

void add_compare(CLI::App& app, Subcommand& run) {
  CLI::App* sub = app.add_subcommand(
      "compare", "every feature-map method side by side from one calibration pass");
  sub->add_option("MODEL", args.model, "ONNX model")->required();
  args.imp.add_to(*sub);
  sub->add_option("--calib", args.calib, "calibration images (SPEC)")->required();
  sub->add_option("--test", args.test, "images to score on")->required();
  sub->add_option("--val", args.val,
                  "images the warning column reads (default: --test; scored for every row)");
  sub->add_option("--bits", args.bits, "widths of weights and feature maps (default 4,6,8)")
      ->delimiter(',');
  sub->add_option("--methods", args.methods,
                  "all (default) or a list of: " + quant::fm_method_names())
      ->delimiter(',');
  args.mf.add_to(*sub);
  sub->add_option("--wmethods", args.wmethods,
                  "weight rules, each crossed with every method: alg1, nuuqQ, threshold-normal, "
                  "threshold-empirical (default: the one --wlevels/--wthreshold give)")
      ->delimiter(',');
  sub->add_option("--calib-weights", args.calib_weights,
                  "statistics from the float network (default: one pass for every width) or "
                  "from each width's quantized weights (one pass per width)")
      ->check(CLI::IsMember({"float", "quantized"}));
  sub->add_option("--warn-points", args.warn_points,
                  "warn on rows this many top-1 points under the best of their width (default 1)");
  sub->add_option("--out", args.out, "folder for compare.md, compare.json and plans/");
  sub->add_option("--limit", args.limit, "calibration images to use");
  sub->add_option("--test-limit", args.test_limit, "images to score");
  sub->add_option("--val-limit", args.val_limit, "--val images to score");
  sub->add_option("--batch", args.batch, "images per batch (default 64)");
  sub->add_option("--threads", args.threads, "kernel threads")->check(CLI::Range(0, 1024));
  sub->add_flag("--json", args.json, "print compare.json on stdout instead of the tables");
  sub->add_flag("--report", args.report,
                "also draw OUT/report.html (accuracy and SQNR per layer for every method)");
  sub->add_flag("--quiet", args.quiet, "no progress on stderr");
  args.pre.add_to(*sub);
  sub->callback([&run] { run = run_compare; });
}

}  // namespace gammaq::cli
