// adlq: the layer-wise activation-distribution scale factor of Ki and Kim (ICEIC 2022) in
// gammaq's reading (ALGORITHMS.md 10, PROPOSED: only the paper's abstract was available).
// Clipping candidates from the tensor's distribution -- the 99.9, 99.99, 99.999 and 100th
// percentiles of |x| (zeros left out for tensors the graph proves non-negative) and m + k s
// for k = 3, 4, 6 (m, s: mean and deviation of the non-zero magnitudes) -- each turned into
// power-of-two fracs by 11.5; the frac chosen is the one whose rounding error is smallest
// where the next weight layers see it: the squared error of their pre-activations when only
// this tensor is quantized (the second pass measures it; EmpiricalErrors::enable_propagation).
// A tensor no weight layer reads directly falls back to its own squared error, with a note.
#include <algorithm>
#include <array>
#include <cmath>

#include "gammaq/error.h"
#include "quant/methods/method.h"

namespace gammaq::quant {
namespace {

struct Threshold {
  const char* name;
  double t;
};

std::vector<Threshold> thresholds(const stats::TensorStats& s, bool is_signed) {
  std::vector<Threshold> out;
  for (auto [name, p] :
       {std::pair{"p99.9", 0.999}, std::pair{"p99.99", 0.9999}, std::pair{"p99.999", 0.99999}})
    out.push_back({name, magnitude_quantile(s, p, is_signed, nullptr)});
  out.push_back({"p100", s.max_abs()});
  const stats::SideMoments& a = s.positive();
  const stats::SideMoments& b = s.negative();
  const auto n = static_cast<double>(a.count + b.count);
  const double m = (a.sum + b.sum) / n;
  const double sd = std::sqrt(std::max(0.0, (a.sum_sq + b.sum_sq) / n - m * m));
  for (auto [name, k] : {std::pair{"m+3s", 3.0}, std::pair{"m+4s", 4.0}, std::pair{"m+6s", 6.0}})
    out.push_back({name, std::min(m + k * sd, s.max_abs())});
  return out;
}

}  // namespace

FmProposal propose_adlq(const stats::TensorStats& s, const FmRequest& q, FmProposal p) {
  std::vector<int> fracs;
  for (const Threshold& t : thresholds(s, q.is_signed)) {
    p.result.fit[str_cat("t_", t.name)] = t.t;
    ActivationFormat scratch;
    for (int f : threshold_fracs(t.t, q.bits, q.is_signed, scratch, q.options.clip_below_t))
      fracs.push_back(make_format(q.bits, f, q.is_signed).frac);
  }
  std::sort(fracs.begin(), fracs.end());
  fracs.erase(std::unique(fracs.begin(), fracs.end()), fracs.end());
  p.candidates = fracs;
  p.needs_empirical = true;
  p.propagate = true;
  return p;
}

void decide_adlq(FmProposal& p, const EmpiricalErrors& errors, double energy) {
  const bool propagated = !errors.propagated_sq_errors().empty();
  const std::vector<double>& by = propagated ? errors.propagated_sq_errors() : errors.sq_errors();
  size_t best = 0;  // least error; ties the smaller frac (the formats come sorted)
  for (size_t k = 1; k < by.size(); ++k)
    if (by[k] < by[best]) best = k;
  const int frac = errors.formats()[best].frac;
  // The tensor's own SQNR, as for every method; the candidates list the criterion's errors.
  decide_among(p, {frac}, {errors.sq_errors()[best]}, energy);
  p.result.candidates.clear();
  for (size_t k = 0; k < by.size(); ++k)
    p.result.candidates.emplace_back(errors.formats()[k].frac, by[k]);
  // The threshold behind the choice (the first that maps to it), and its float scale.
  const Format& f = p.result.format;
  const double q_max = f.is_signed ? std::ldexp(1.0, f.bits - 1) - 1 : std::ldexp(1.0, f.bits) - 1;
  for (const auto& [key, t] : p.result.fit) {
    if (key.rfind("t_", 0) != 0) continue;
    ActivationFormat scratch;
    const std::vector<int> fr = threshold_fracs(t, f.bits, f.is_signed, scratch, p.clip_below_t);
    bool maps = false;
    for (int c : fr) maps = maps || make_format(f.bits, c, f.is_signed).frac == frac;
    if (!maps) continue;
    p.result.fit["threshold"] = t;
    p.result.fit["float_scale"] = t / q_max;
    p.result.note = str_cat("adlq: threshold ", key.substr(2), ", chosen by ",
                            propagated ? "the next weight layers' pre-activation error"
                                       : "its own squared error (no weight layer reads it)");
    break;
  }
}

}  // namespace gammaq::quant
