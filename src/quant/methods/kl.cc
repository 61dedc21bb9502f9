// kl: KL-divergence ("entropy") calibration, ALGORITHMS.md 11.2 (TensorRT 2017, ncnn).
//
// The variant, as 11.2 suggests: a 2048-bin histogram of |x| on [0, max|x|] (exact zeros left
// out for unsigned post-ReLU tensors, as ncnn does; counted for signed ones), built in the
// second calibration pass (max|x| comes from the first); for every i from T_b (= q_max + 1, the
// format's levels on one side) to 2048, P = the first i bins with the outliers folded into the
// last, Q = those i bins (unfolded) merged into T_b groups with ncnn's fractional edges
// (partial bins weighted by their overlap) and each group's mass spread evenly over its
// non-empty bins (TensorRT); both smoothed as MXNet does (zeros -> 1e-4, the same mass taken
// proportionally from the rest); i* = argmin KL(P || Q), T = (i* + 0.5) max/2048; then 11.5
// (the two power-of-two candidates around T, measured in the same pass). Above 8 bits the
// levels approach the bins' count, so kl falls back to mse there (with a note).
#include <algorithm>
#include <cmath>
#include <limits>

#include "quant/methods/method.h"

namespace gammaq::quant {
namespace {

constexpr int kBins = 2048;
constexpr double kEps = 1e-4;

// MXNet's _smooth_distribution on a normalised distribution; false when it cannot be smoothed.
bool smooth(std::vector<double>& d) {
  size_t zeros = 0;
  for (double x : d) zeros += x == 0.0;
  if (zeros == d.size()) return false;
  const double eps1 = kEps * static_cast<double>(zeros) / static_cast<double>(d.size() - zeros);
  if (eps1 >= 1.0) return false;
  for (double& x : d) x = x == 0.0 ? kEps : x - eps1;
  return true;
}

int levels_of(const Format& f) { return static_cast<int>(f.qmax() + 1); }

}  // namespace

int kl_best_bins(const std::vector<uint64_t>& hist, int levels) {
  const int b = static_cast<int>(hist.size());
  if (levels >= b) return b;
  std::vector<double> suffix(static_cast<size_t>(b) + 1, 0.0);
  for (int j = b - 1; j >= 0; --j)
    suffix[static_cast<size_t>(j)] =
        suffix[static_cast<size_t>(j) + 1] + static_cast<double>(hist[static_cast<size_t>(j)]);
  int best = b;
  double best_kl = std::numeric_limits<double>::infinity();
  std::vector<double> p, q;
  for (int i = levels; i <= b; ++i) {
    p.assign(hist.begin(), hist.begin() + i);
    p[static_cast<size_t>(i) - 1] += suffix[static_cast<size_t>(i)];
    q.assign(static_cast<size_t>(i), 0.0);
    const double width = static_cast<double>(i) / levels;
    for (int g = 0; g < levels; ++g) {
      const double start = g * width, end = (g + 1) * width;
      const int j0 = static_cast<int>(std::floor(start));
      const int j1 = std::min(i, static_cast<int>(std::ceil(end)));
      double mass = 0.0, cover = 0.0;
      for (int j = j0; j < j1; ++j) {
        const double o = std::min(end, j + 1.0) - std::max(start, static_cast<double>(j));
        const double h = static_cast<double>(hist[static_cast<size_t>(j)]);
        mass += o * h;
        if (h != 0.0) cover += o;
      }
      if (cover == 0.0) continue;
      for (int j = j0; j < j1; ++j) {
        if (hist[static_cast<size_t>(j)] == 0) continue;
        const double o = std::min(end, j + 1.0) - std::max(start, static_cast<double>(j));
        q[static_cast<size_t>(j)] += mass * o / cover;
      }
    }
    double sp = 0.0, sq = 0.0;
    for (size_t j = 0; j < p.size(); ++j) sp += p[j], sq += q[j];
    if (sp == 0.0 || sq == 0.0) continue;
    for (size_t j = 0; j < p.size(); ++j) p[j] /= sp, q[j] /= sq;
    if (!smooth(p) || !smooth(q)) continue;
    double kl = 0.0;
    for (size_t j = 0; j < p.size(); ++j) kl += p[j] * std::log(p[j] / q[j]);
    if (kl < best_kl) best_kl = kl, best = i;
  }
  return best;
}

FmProposal propose_kl(const stats::TensorStats& s, const FmRequest& q, FmProposal p) {
  if (q.bits > 8) {
    p.result.note = "kl above 8 bits: the levels approach the histogram's bins; mse instead";
    return propose_mse(s, q, std::move(p));
  }
  const double max = s.max_abs();
  const bool skip_zeros = !q.is_signed;
  const int levels = levels_of(p.result.format);
  const std::vector<float> sample = s.sample();
  if (static_cast<int64_t>(sample.size()) == s.positive().count + s.negative().count) {
    // Every non-zero value is at hand: the histogram and the decision now (exact).
    std::vector<uint64_t> hist(kBins, 0);
    count_magnitudes(hist, max, sample, true);  // the same binning as the second pass
    if (!skip_zeros) hist[0] += static_cast<uint64_t>(s.zeros());
    const int best = kl_best_bins(hist, levels);
    p.result.fit["kl_bins"] = best;
    const std::vector<int> fracs = threshold_fracs((best + 0.5) * max / kBins, q.bits, q.is_signed,
                                                   p.result, q.options.clip_below_t);
    return choose_by_error(s, std::move(p), fracs, q.options.rounding);
  }
  // Candidates wide enough for any T >= (levels + 0.5) max / kBins, measured in the second
  // pass together with the histogram.
  const int top = max_rule_frac(max, q.bits, q.is_signed);
  const int extra = static_cast<int>(std::ceil(std::log2(static_cast<double>(kBins) / levels)));
  for (int f = top - 1; f <= top + extra + 2; ++f) p.candidates.push_back(f);
  p.needs_empirical = true;
  p.histogram_bins = kBins;
  p.histogram_max = max;
  p.histogram_skip_zeros = skip_zeros;
  return p;
}

void decide_kl(FmProposal& p, const EmpiricalErrors& errors, double energy) {
  if (errors.histogram().empty()) {  // mse's candidates (kl above 8 bits)
    std::vector<int> fracs;
    for (const Format& c : errors.formats()) fracs.push_back(c.frac);
    decide_among(p, fracs, errors.sq_errors(), energy);
    return;
  }
  const Format& f = p.result.format;
  const int best = kl_best_bins(errors.histogram(), levels_of(f));
  p.result.fit["kl_bins"] = best;
  const double t = (best + 0.5) * p.histogram_max / static_cast<double>(errors.histogram().size());
  std::vector<int> fracs;
  std::vector<double> errs;
  for (int fr : threshold_fracs(t, f.bits, f.is_signed, p.result, p.clip_below_t))
    for (size_t k = 0; k < errors.formats().size(); ++k)
      if (errors.formats()[k].frac == make_format(f.bits, fr, f.is_signed).frac) {
        fracs.push_back(errors.formats()[k].frac);
        errs.push_back(errors.sq_errors()[k]);
      }
  if (fracs.empty()) {  // not measured (cannot happen: the window covers every T)
    for (const Format& c : errors.formats()) fracs.push_back(c.frac);
    errs = errors.sq_errors();
  }
  decide_among(p, fracs, errs, energy);
}

}  // namespace gammaq::quant
