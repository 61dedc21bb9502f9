// The feature-map method table (STYLE.md 3.2): every way gammaq turns one tensor's calibration
// statistics into a format. Adding a method is one file here, one line in method_table.cc and
// one test. Every method reads the same statistics, gathered in the one calibration pass
// (stats::TensorStats: exact moments, sign split, maximum, a deterministic bottom-k sample);
// one that ends in a set of candidate fracs has them measured in the second pass
// (choose_by_error), which serves every tensor at once.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "quant/feature_maps.h"

namespace gammaq::quant {

struct FmRequest {
  int bits = 8;
  bool is_signed = true;
  const FmOptions& options;
};

struct FmMethod {
  std::string_view name;
  std::string_view summary;  // one line, for --help and docs
  // `p` arrives with result.method and a default format of the requested width set; the
  // statistics hold at least one non-zero value (the all-zero case is handled before).
  FmProposal (*propose)(const stats::TensorStats& s, const FmRequest& q, FmProposal p);
  // Optional: the decision after the second pass, for methods that asked for more than the
  // candidates' squared errors (null: the candidate of least squared error).
  void (*decide)(FmProposal& p, const EmpiricalErrors& errors, double energy) = nullptr;
};

[[nodiscard]] std::span<const FmMethod> fm_methods();
[[nodiscard]] const FmMethod* find_fm_method(std::string_view name);  // null: unknown
[[nodiscard]] std::string fm_method_names();                          // "ggd, ristretto, ..."

// Shared tails (quant/feature_maps.cc):
// Candidates chosen by squared error over the calibration data: decided at once when the
// sample holds every non-zero value (exact), else by the second pass. Fracs are clamped to
// the format's range and deduplicated.
[[nodiscard]] FmProposal choose_by_error(const stats::TensorStats& s, FmProposal p,
                                         std::vector<int> fracs, Rounding rounding);
// Fills in the decision among `fracs` with their measured squared errors (least error wins,
// ties the smaller frac; result.candidates, sqnr_db set).
void decide_among(FmProposal& p, const std::vector<int>& fracs, const std::vector<double>& errors,
                  double energy);
// ALGORITHMS.md 11.5: the power-of-two fracs around a clipping threshold T > 0 -- the coarser
// (-ceil log2(T/q_max): nothing below T clips) and the finer one -- with T and the float scale
// T/q_max the method would use without the power-of-two constraint recorded in r.fit
// ("threshold", "float_scale").
// clip_below_t false (--no-clip-below-T): the coarser one only.
[[nodiscard]] std::vector<int> threshold_fracs(double t, int bits, bool is_signed,
                                               ActivationFormat& r, bool clip_below_t);
// The p-quantile (p in (0, 1]) of |x| over the calibration values, exact zeros counted
// (count_zeros) or not, from the exact zero count and the bottom-k sample of the non-zero
// values (linear interpolation between order statistics; exact when the sample holds every
// non-zero value). When zeros fill the quantile, the quantile of the non-zero values, with
// `note` saying so.
[[nodiscard]] double magnitude_quantile(const stats::TensorStats& s, double p, bool count_zeros,
                                        std::string* note);
// The frac at which max_abs fits with at most one LSB of saturation (ALGORITHMS.md 1.4).
[[nodiscard]] int max_rule_frac(double max_abs, int bits, bool is_signed);

// The methods (one file each, except the two the quantizer began with).
FmProposal propose_ggd(const stats::TensorStats& s, const FmRequest& q, FmProposal p);
FmProposal propose_ristretto(const stats::TensorStats& s, const FmRequest& q, FmProposal p);
FmProposal propose_max(const stats::TensorStats& s, const FmRequest& q, FmProposal p);
FmProposal propose_percentile(const stats::TensorStats& s, const FmRequest& q, FmProposal p);
FmProposal propose_aciq(const stats::TensorStats& s, const FmRequest& q, FmProposal p);
// ACIQ's optimal clipping for M-bit levels: alpha / b (Laplace) and alpha / sigma (Gauss).
[[nodiscard]] double aciq_laplace_alpha(int m);
[[nodiscard]] double aciq_gauss_alpha(int m);
FmProposal propose_mse(const stats::TensorStats& s, const FmRequest& q, FmProposal p);
FmProposal propose_kl(const stats::TensorStats& s, const FmRequest& q, FmProposal p);
void decide_kl(FmProposal& p, const EmpiricalErrors& errors, double energy);
// KL calibration on a histogram of |x| (bins of equal width): the number of bins i* whose
// clipped distribution is closest to its `levels`-level quantization; T = (i* + 0.5) width.
[[nodiscard]] int kl_best_bins(const std::vector<uint64_t>& hist, int levels);
// ALGORITHMS.md 9: equiprobable bins of a fitted normal (threshold) or of the data
// (threshold-emp), as a Format carrying its threshold table.
FmProposal propose_threshold(const stats::TensorStats& s, const FmRequest& q, FmProposal p);
FmProposal propose_threshold_emp(const stats::TensorStats& s, const FmRequest& q, FmProposal p);
FmProposal propose_adlq(const stats::TensorStats& s, const FmRequest& q, FmProposal p);
void decide_adlq(FmProposal& p, const EmpiricalErrors& errors, double energy);

}  // namespace gammaq::quant
