// Threshold quantizers with equiprobable bins (ALGORITHMS.md 9, after Liss et al. 2018 and the
// UNIQ code; the post-training reading of 9.4 is PROPOSED): K = 2^b bins cut at quantiles of a
// fitted normal (or of the data), each bin meaning one level; an index comes from comparing
// the value with K - 1 thresholds (a thermometer code), no multiply. The integer form of 9.3
// snaps thresholds and levels to one power-of-two scale.
//
// The pipeline uses it through threshold_format (feature maps: a Format carrying its table,
// quant/methods/threshold.cc) and threshold_codebook (weights: a NUUQ-style codebook).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "quant/format.h"
#include "quant/nuuq.h"

namespace gammaq::quant {

struct ThresholdQuantizer {
  std::vector<double> thresholds;  // ascending; index = #{j : x >= thresholds[j]}
  std::vector<double> levels;      // one per bin, thresholds.size() + 1
  // Activations (9.2): index 0 is exactly zero and holds every x <= 0 (the first threshold is
  // 0, compared strictly: x > 0 leaves bin 0).
  bool zero_bin = false;
  [[nodiscard]] int index(double x) const noexcept;
  [[nodiscard]] double value(double x) const noexcept {
    return levels[static_cast<size_t>(index(x))];
  }
};

// Phi^-1 and Phi of the standard normal.
[[nodiscard]] double normal_quantile(double p);
[[nodiscard]] double normal_cdf(double x);

// 9.1: K = 2^bits equiprobable bins of N(m, s^2) (s floored at 1e-5): thresholds at the k/K
// quantiles, levels at the bins' medians ((k + 1/2)/K).
[[nodiscard]] ThresholdQuantizer normal_weights(double mean, double sd, int bits);
// 9.4.1: the same on the data's own quantiles: thresholds at the empirical k/K quantiles,
// levels at the median of each bin's values (fewer bins when values repeat).
[[nodiscard]] ThresholdQuantizer empirical_weights(std::span<const float> w, int bits);
// 9.2: the CDF + ReLU hybrid for a pre-activation N(m, s^2) followed by ReLU: bin 0 is exactly
// 0, the other K - 1 bins split the positive part into equal model probabilities.
[[nodiscard]] ThresholdQuantizer relu_hybrid(double mean, double sd, int bits);
// 9.4.2: m and s of the pre-activation from post-ReLU data alone: the zero fraction p0 gives
// m/s = -Phi^-1(p0), the mean of the positive values E[x | x > 0] = m + s phi(m/s)/Phi(m/s)
// gives s. Requires 0 < p0 < 1 and positive_mean > 0.
struct PreActivation {
  double mean = 0, sd = 0;
};
[[nodiscard]] PreActivation pre_activation_from_relu(double p0, double positive_mean);

// 9.4.3: Lloyd-Max on samples: levels to the mean of their bin's samples, thresholds to the
// midpoints of adjacent levels (the zero bin and its threshold fixed); `iterations` rounds or
// until nothing moves. Equiprobable bins maximise the index entropy, this the SQNR.
void lloyd_max(ThresholdQuantizer& q, std::span<const float> samples, int iterations = 10);

// 9.3: one power-of-two scale S = 2^-frac for levels and thresholds (frac by Algorithm 1 over
// both, `bits` wide): integer levels V_k = R(r_k / S), thresholds T_k = R(t_k / S). Thresholds
// that collapse onto the previous one are dropped with the (empty) bin they opened, and
// counted. The integer index is #{j : code >= T_j} (the zero bin: code > T_0).
struct IntegerThresholds {
  int frac = 0;
  std::vector<int64_t> thresholds, levels;
  bool zero_bin = false;
  int dropped = 0;  // bins lost to collapsing thresholds
  [[nodiscard]] int index(int64_t code) const noexcept;
};
[[nodiscard]] IntegerThresholds to_integer(const ThresholdQuantizer& q, int bits,
                                           Rounding rounding = Rounding::HalfEven);

// 9.4.2, empirical: the zero bin, then K - 1 bins at the empirical quantiles of the positive
// values (levels at their bins' medians).
[[nodiscard]] ThresholdQuantizer empirical_relu_hybrid(std::span<const float> positive, int bits);

// The grid width for K = 2^bits bins when none is given: bits + 4, at most 16 (PROPOSED: four
// bits of headroom keep the levels' rounding error below the bins' own).
[[nodiscard]] int default_threshold_grid_bits(int bits) noexcept;

// 9.3 for a tensor: the integer form on a `grid_bits` grid of the tensor's signedness as a
// Format carrying its ThresholdTable. Unsigned grids take the frac Algorithm 1 gives the
// values at grid_bits + 1 signed bits (the same range for non-negative values); levels are
// saturated to the grid. `dropped` (may be null) counts collapsed bins.
[[nodiscard]] Format threshold_format(const ThresholdQuantizer& q, int grid_bits, bool is_signed,
                                      Rounding rounding, int* dropped);

// 9.1 / 9.4.1 for weights, as a codebook on a signed `grid_bits` grid (NUUQ's integer form:
// the weight's grid code u takes index #{k : u >= bounds[k]}, bounds = T_k; levels = V_k,
// adjacent equal levels merged). `empirical`: the data's quantiles, else the fitted normal;
// `lloyd`: Lloyd-Max on the weights first. sq_error as choose_nuuq's.
struct ThresholdWeightOptions {
  int bits = 4;       // K = 2^bits bins
  int grid_bits = 0;  // 0: default_threshold_grid_bits(bits)
  bool empirical = false, lloyd = false;
  Rounding rounding = Rounding::HalfEven;
};
[[nodiscard]] NuuqChoice threshold_codebook(std::span<const float> w,
                                            const ThresholdWeightOptions& options);

// On samples: the entropy of the index histogram in bits, and the SQNR of value() in dB.
struct ThresholdStats {
  double entropy_bits = 0, sqnr_db = 0;
};
[[nodiscard]] ThresholdStats evaluate(const ThresholdQuantizer& q, std::span<const float> x);

}  // namespace gammaq::quant
