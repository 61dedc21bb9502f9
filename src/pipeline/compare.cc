#include "pipeline/compare.h"

#include <memory>

#include "gammaq/error.h"
#include "quant/methods/method.h"

namespace gammaq {

WeightRule parse_weight_rule(const std::string& name) {
  WeightRule r;
  r.name = name;
  if (name == "alg1") return r;
  if (name == "threshold-normal" || name == "threshold-empirical") {
    r.wthreshold = name.substr(10);
    return r;
  }
  if (name.rfind("nuuq", 0) == 0 && name.size() > 4 && name.size() <= 9 &&
      name.find_first_not_of("0123456789", 4) == std::string::npos) {
    r.wlevels = std::stoi(name.substr(4));
    if (r.wlevels >= 2) return r;
  }
  throw Error(ErrorKind::InvalidOption,
              str_cat("--wmethods: unknown weight rule '", name,
                      "' (alg1, nuuqQ with Q >= 2, threshold-normal, threshold-empirical)"));
}

WeightRule weight_rule_of(const QuantizeOptions& o) {
  WeightRule r;
  r.wlevels = o.wlevels;
  r.wthreshold = o.wthreshold;
  if (!o.wthreshold.empty())
    r.name = "threshold-" + o.wthreshold;
  else if (o.wlevels > 0)
    r.name = str_cat("nuuq", o.wlevels, o.nuuq_zero ? "-zero" : "", o.nuuq_sym ? "-sym" : "",
                     o.nuuq_lloyd ? "-lloyd" : "");
  return r;
}

CompareReport compare_methods(const Graph& g, Dataset& calib, const QuantizeOptions& base,
                              const CompareOptions& c) {
  if (c.methods.empty()) throw Error(ErrorKind::InvalidOption, "--methods: no method given");
  if (c.bits.empty()) throw Error(ErrorKind::InvalidOption, "--bits: no width given");
  for (const std::string& m : c.methods)
    if (!quant::find_fm_method(m))
      throw Error(ErrorKind::InvalidOption,
                  str_cat("--methods: unknown method '", m, "' (", quant::fm_method_names(), ")"));
  for (int b : c.bits)
    if (b < 2 || b > 16)
      throw Error(ErrorKind::InvalidOption, str_cat("--bits ", b, ": must be in 2..16"));

  const std::vector<WeightRule> rules =
      c.wmethods.empty() ? std::vector<WeightRule>{weight_rule_of(base)} : c.wmethods;
  // The weights of each width and rule (the method name only matters for ristretto's eq. 8
  // weights, which compare does not use). weights[i * rules + r].
  std::vector<quant::QuantPlan> weights;
  for (int b : c.bits)
    for (const WeightRule& rule : rules) {
      QuantizeOptions o = base;
      o.method = "ggd";
      o.wbits = o.abits = b;
      o.wlevels = rule.wlevels;
      o.wthreshold = rule.wthreshold;
      o.float_activations = true;
      o.tune = "none";
      weights.push_back(quantize_model(g, calib, o).plan);
    }

  CompareReport rep;
  // `widths` x `rule_ids` rows per method; w: the quantized weights of pass 1 (null: float).
  auto run = [&](const quant::QuantPlan* w, const std::vector<size_t>& widths,
                 const std::vector<size_t>& rule_ids) {
    FeatureMapCalibration cal(g, calib, w, base);
    std::vector<FeatureMapCalibration::Request> req;
    for (size_t i : widths)
      for (const std::string& m : c.methods) req.push_back({m, c.bits[i]});
    const std::vector<FeatureMapCalibration::Choice> chosen = cal.choose(req);
    size_t k = 0;
    for (size_t i : widths) {
      const size_t first = k;
      for (size_t r : rule_ids) {
        k = first;
        for (const std::string& m : c.methods) {
          const FeatureMapCalibration::Choice& ch = chosen[k++];
          CompareRow row;
          row.bits = c.bits[i];
          row.method = m;
          row.wmethod = rules[r].name;
          row.plan = weights[i * rules.size() + r];
          row.plan.method = m;
          row.plan.float_activations = false;
          row.plan.calib_weights = w ? "quantized" : "float";
          row.plan.activations = ch.activations;
          row.seconds = ch.seconds;
          row.warnings = ch.warnings;
          rep.rows.push_back(std::move(row));
        }
      }
    }
    rep.calibration_images = cal.images();
    rep.passes += 1 + (cal.second_pass_tensors() > 0 ? 1 : 0);
    rep.seconds_calibrate += cal.seconds_pass1();
    rep.seconds_errors += cal.seconds_pass2();
    rep.warnings.insert(rep.warnings.end(), cal.warnings().begin(), cal.warnings().end());
  };
  if (c.stats_per_width) {
    for (size_t i = 0; i < c.bits.size(); ++i)
      for (size_t r = 0; r < rules.size(); ++r) run(&weights[i * rules.size() + r], {i}, {r});
  } else {
    std::vector<size_t> all, all_rules;
    for (size_t i = 0; i < c.bits.size(); ++i) all.push_back(i);
    for (size_t r = 0; r < rules.size(); ++r) all_rules.push_back(r);
    run(nullptr, all, all_rules);
  }
  return rep;
}

}  // namespace gammaq
