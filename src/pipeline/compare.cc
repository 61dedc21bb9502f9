#include "pipeline/compare.h"

#include <memory>

#include "gammaq/error.h"
#include "quant/methods/method.h"

namespace gammaq {

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

  // The weights of each width: Algorithm 1 or NUUQ (the method name only matters for
  // ristretto's eq. 8 weights, which compare does not use).
  std::vector<quant::QuantPlan> weights;
  for (int b : c.bits) {
    QuantizeOptions o = base;
    o.method = "ggd";
    o.wbits = o.abits = b;
    o.float_activations = true;
    o.tune = "none";
    weights.push_back(quantize_model(g, calib, o).plan);
  }

  CompareReport rep;
  auto run = [&](const quant::QuantPlan* w, const std::vector<size_t>& widths) {
    FeatureMapCalibration cal(g, calib, w, base);
    std::vector<FeatureMapCalibration::Request> req;
    for (size_t i : widths)
      for (const std::string& m : c.methods) req.push_back({m, c.bits[i]});
    std::vector<FeatureMapCalibration::Choice> chosen = cal.choose(req);
    size_t k = 0;
    for (size_t i : widths)
      for (const std::string& m : c.methods) {
        FeatureMapCalibration::Choice& ch = chosen[k++];
        CompareRow row;
        row.bits = c.bits[i];
        row.method = m;
        row.plan = weights[i];
        row.plan.method = m;
        row.plan.float_activations = false;
        row.plan.calib_weights = w ? "quantized" : "float";
        row.plan.activations = std::move(ch.activations);
        row.seconds = ch.seconds;
        row.warnings = std::move(ch.warnings);
        rep.rows.push_back(std::move(row));
      }
    rep.calibration_images = cal.images();
    rep.passes += 1 + (cal.second_pass_tensors() > 0 ? 1 : 0);
    rep.seconds_calibrate += cal.seconds_pass1();
    rep.seconds_errors += cal.seconds_pass2();
    rep.warnings.insert(rep.warnings.end(), cal.warnings().begin(), cal.warnings().end());
  };
  if (c.stats_per_width) {
    for (size_t i = 0; i < c.bits.size(); ++i) run(&weights[i], {i});
  } else {
    std::vector<size_t> all;
    for (size_t i = 0; i < c.bits.size(); ++i) all.push_back(i);
    run(nullptr, all);
  }
  return rep;
}

}  // namespace gammaq
