// threshold, threshold-emp: the threshold quantizer with equiprobable bins (ALGORITHMS.md 9,
// after Liss et al. 2018; the post-training reading of 9.4 is PROPOSED). K = 2^bits bins;
// the format carries the integer table of 9.3 (levels and thresholds on a power-of-two grid),
// so the simulation, the integer engine's comparators and the exports all use the same codes.
//
// Non-negative tensors take the CDF + ReLU hybrid: an exact-zero bin, the other K - 1 bins
// equiprobable over the positive part -- of the pre-activation normal that 9.4.2 recovers from
// the zero fraction and the positive mean (threshold), or of the non-zero sample's quantiles
// (threshold-emp). Signed tensors take 9.1's two-sided bins of N(mean, var) of every value
// (threshold) or of the sample with its zeros (threshold-emp). --threshold-lloyd refines
// either by Lloyd-Max on the sample.
#include "quant/threshold.h"

#include <cmath>

#include "gammaq/error.h"
#include "quant/methods/method.h"
#include "quant/weights.h"

namespace gammaq::quant {
namespace {

// The non-zero sample `v` with zeros added in the data's proportion (signed quantizers, whose
// bin around 0 holds them).
std::vector<float> sample_with_zeros(const stats::TensorStats& s, std::vector<float> v) {
  const double nonzero = static_cast<double>(s.positive().count + s.negative().count);
  const auto zeros = static_cast<size_t>(
      std::llround(static_cast<double>(v.size()) * static_cast<double>(s.zeros()) / nonzero));
  v.insert(v.end(), zeros, 0.0f);
  return v;
}

FmProposal propose(const stats::TensorStats& s, const FmRequest& q, FmProposal p, bool empirical) {
  ActivationFormat& r = p.result;
  const double total = static_cast<double>(s.total() - s.nonfinite());
  const double p0 = static_cast<double>(s.zeros()) / total;
  const bool hybrid = !q.is_signed || s.one_sided();
  ThresholdQuantizer tq;
  const std::vector<float> nonzero = s.sample();
  // What the quantizer is fitted on: the positive values (hybrid), or every value.
  std::vector<float> sample;
  if (hybrid) {
    for (float v : nonzero)
      if (v > 0) sample.push_back(v);
  } else {
    sample = sample_with_zeros(s, nonzero);
  }
  if (empirical) {
    tq = hybrid ? empirical_relu_hybrid(sample, q.bits) : empirical_weights(sample, q.bits);
  } else if (hybrid && p0 > 0) {
    const double positive_mean = s.positive().sum / static_cast<double>(s.positive().count);
    const PreActivation pre = pre_activation_from_relu(p0, positive_mean);
    tq = relu_hybrid(pre.mean, pre.sd, q.bits);
    r.fit["pre_mean"] = pre.mean;
    r.fit["pre_sd"] = pre.sd;
  } else {
    // Two-sided normal of every value (a non-negative tensor without zeros: the same, its
    // negative levels saturating to 0 on the unsigned grid, and a warning: 9.4.2 has no zero
    // fraction to recover the pre-activation from).
    if (hybrid) {
      r.degenerate = true;
      r.note =
          "threshold: a non-negative tensor without exact zeros has no pre-activation to "
          "recover (ALGORITHMS.md 9.4.2): two-sided normal bins of its values instead";
    }
    const double mean = (s.positive().sum - s.negative().sum) / total;
    const double var = std::max(0.0, s.energy() / total - mean * mean);
    tq = normal_weights(mean, std::sqrt(var), q.bits);
    r.fit["mean"] = mean;
    r.fit["sd"] = std::sqrt(var);
  }
  if (q.options.threshold_lloyd) lloyd_max(tq, sample);
  const int grid = q.options.threshold_grid_bits > 0 ? q.options.threshold_grid_bits
                                                     : default_threshold_grid_bits(q.bits);
  int dropped = 0;
  r.format = threshold_format(tq, grid, q.is_signed, q.options.rounding, &dropped);
  r.fit["zero_fraction"] = p0;
  r.fit["bins"] = static_cast<double>(r.format.table->levels.size());
  // Local SQNR (6.1) of the integer table on the sample (zeros in proportion where their bin
  // does not hold them exactly); exact when the sample holds every value.
  double signal = 0, noise = 0;
  for (float v : hybrid ? nonzero : sample) {
    const double d = double(v) - fake_quant(double(v), r.format, q.options.rounding);
    signal += double(v) * v;
    noise += d * d;
  }
  r.sqnr_db = sqnr_db(signal, noise);
  if (dropped > 0)
    r.note = str_cat(r.note.empty() ? "" : r.note + "; ", dropped, " of ", tq.levels.size(),
                     " bins collapsed on the ", grid, "-bit grid (ALGORITHMS.md 9.3)");
  return p;
}

}  // namespace

FmProposal propose_threshold(const stats::TensorStats& s, const FmRequest& q, FmProposal p) {
  return propose(s, q, std::move(p), false);
}

FmProposal propose_threshold_emp(const stats::TensorStats& s, const FmRequest& q, FmProposal p) {
  return propose(s, q, std::move(p), true);
}

}  // namespace gammaq::quant
