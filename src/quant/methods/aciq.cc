// aciq: ALGORITHMS.md 11.1 (Banner, Nahshan, Soudry). A Laplace(b) or Gauss(sigma) model of the
// centred tensor and the clipping alpha that minimises the paper's approximate MSE for
// M = bits levels (bits + 1, "half range", for unsigned post-ReLU formats); the threshold is
// |mean| + alpha (signed) or alpha (unsigned), then 11.5. --aciq mix measures both models'
// candidates on the data and keeps the smaller squared error, as the authors' code does.
// Estimators, from the one calibration pass: mean and sigma exactly from the moments (zeros
// included); b = mean |x - mean| from the exact zero count and the sample of non-zero values.
#include <algorithm>
#include <cmath>

#include "gammaq/error.h"
#include "quant/methods/method.h"

namespace gammaq::quant {

// alpha / b for Laplace: the root of t = ln(3 4^M / t) (bisection; t - ln(3 4^M / t) rises).
double aciq_laplace_alpha(int m) {
  const double c = 3.0 * std::pow(4.0, m);
  double lo = 1e-6, hi = 200.0;
  for (int i = 0; i < 200; ++i) {
    const double t = 0.5 * (lo + hi);
    if (t - std::log(c / t) > 0)
      hi = t;
    else
      lo = t;
  }
  return 0.5 * (lo + hi);
}

// alpha / sigma for Gauss: the minimum of the paper's approximate MSE (golden section).
double aciq_gauss_alpha(int m) {
  const double q = 3.0 * std::pow(4.0, m);
  auto mse = [&](double a) {
    return (a * a + 1.0) * std::erfc(a / std::sqrt(2.0)) -
           std::sqrt(2.0 / M_PI) * a * std::exp(-a * a / 2.0) + a * a / q;
  };
  double lo = 0.0, hi = 20.0;
  const double g = (std::sqrt(5.0) - 1.0) / 2.0;
  for (int i = 0; i < 200; ++i) {
    const double a = hi - g * (hi - lo), b = lo + g * (hi - lo);
    if (mse(a) < mse(b))
      hi = b;  // the minimum lies in [lo, b]
    else
      lo = a;
  }
  return 0.5 * (lo + hi);
}

FmProposal propose_aciq(const stats::TensorStats& s, const FmRequest& q, FmProposal p) {
  const std::string& model = q.options.aciq;
  if (model != "laplace" && model != "gauss" && model != "mix")
    throw Error(ErrorKind::InvalidOption,
                str_cat("--aciq '", model, "': expected laplace, gauss or mix"));
  const stats::SideMoments &pos = s.positive(), &neg = s.negative();
  const double zeros = static_cast<double>(s.zeros());
  const double nonzero = static_cast<double>(pos.count + neg.count);
  const double n = zeros + nonzero;
  const double mean = (pos.sum - neg.sum) / n;
  const double sigma = std::sqrt(std::max(0.0, s.energy() / n - mean * mean));
  const std::vector<float> sample = s.sample();
  double dev = 0.0;
  for (float v : sample) dev += std::fabs(static_cast<double>(v) - mean);
  const double b =
      sample.empty()
          ? sigma / std::sqrt(2.0)
          : (zeros * std::fabs(mean) + dev * nonzero / static_cast<double>(sample.size())) / n;
  const int m = q.is_signed ? q.bits : q.bits + 1;
  std::vector<int> fracs;
  auto add = [&](const char* which, double alpha) {
    const double t = q.is_signed ? std::fabs(mean) + alpha : alpha;
    if (!(t > 0.0)) return;  // one distinct value at the mean: no spread to model
    ActivationFormat scratch;
    for (int f : threshold_fracs(t, q.bits, q.is_signed, scratch, q.options.clip_below_t))
      fracs.push_back(f);
    p.result.fit[str_cat("threshold_", which)] = scratch.fit["threshold"];
    p.result.fit[str_cat("float_scale_", which)] = scratch.fit["float_scale"];
  };
  if (model != "gauss") add("laplace", aciq_laplace_alpha(m) * b);
  if (model != "laplace") add("gauss", aciq_gauss_alpha(m) * sigma);
  p.result.fit["mean"] = mean;
  p.result.fit["sigma"] = sigma;
  p.result.fit["b"] = b;
  if (fracs.empty()) {
    p.result.note = "no spread around the mean (one distinct value): the max rule instead";
    fracs = threshold_fracs(s.max_abs(), q.bits, q.is_signed, p.result, q.options.clip_below_t);
  }
  return choose_by_error(s, std::move(p), fracs, q.options.rounding);
}

}  // namespace gammaq::quant
