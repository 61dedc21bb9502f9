// Choosing feature-map formats from calibration statistics (ALGORITHMS.md 3, 4.5-4.8):
// the GGD method (Algorithms 2 and 3 with the modes of 4.6) and Ristretto's eq. (8).
//
// Two phases, so that one calibration pass serves every tensor: propose() turns statistics
// into candidate fractional lengths (and, in the model-based modes, already the choice);
// when the choice needs the empirical squared error of each candidate over the calibration
// set (GGD default mode, and the sample-based fallbacks on few samples), the caller measures
// it in a second pass (EmpiricalErrors) and calls decide().
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "quant/format.h"
#include "quant/plan.h"
#include "stats/tensor_stats.h"

namespace gammaq::quant {

enum class FmMode {
  Default,    // empirical squared error of each closed-form candidate (second pass)
  Fast,       // the exact model MSE of the fitted density (4.6), no second pass
  FastPaper,  // the paper's eq. (7), for reproduction
  Exact,      // 1-D search of the exact model MSE around the closed form (4.6)
};
[[nodiscard]] FmMode parse_fm_mode(std::string_view name);  // default|fast|fast-paper|exact
[[nodiscard]] std::string_view fm_mode_name(FmMode mode);

struct FmOptions {
  std::string method = "ggd";  // a name of the method table (quant/methods/method.h)
  FmMode mode = FmMode::Default;
  bool alpha_free = false;     // --ggd-alpha free: profile ML fit on the sample (4.9 b)
  int64_t min_samples = 1000;  // fewer non-zero samples: empirical search (4.8)
  Rounding rounding = Rounding::HalfEven;
  double percentile = 99.99;        // percentile: p in (0, 100]
  bool percentile_nonzero = false;  // percentile: quantile of the non-zero values only
  std::string aciq = "mix";         // aciq: laplace | gauss | mix
  // ALGORITHMS.md 11.5: a threshold T maps to the coarser frac (nothing below T clips) and the
  // finer one, chosen by error; false (--no-clip-below-T): the coarser one only.
  bool clip_below_t = true;
  // threshold / threshold-emp (ALGORITHMS.md 9): Lloyd-Max on the sample after the
  // equiprobable bins (--threshold-lloyd), and the levels' grid width (0: bits + 4, at most 16).
  bool threshold_lloyd = false;
  int threshold_grid_bits = 0;
};

// A proposal for one tensor: the format if already decided, else candidate fracs whose
// empirical squared error decide() needs.
struct FmProposal {
  ActivationFormat result;  // format filled in when !needs_empirical
  std::vector<int> candidates;
  bool needs_empirical = false;
  // The second pass also builds a histogram of |x| with this many equal bins on
  // [0, histogram_max] (0: none), for methods that decide from it (kl).
  int histogram_bins = 0;
  double histogram_max = 0.0;
  bool histogram_skip_zeros = false;
  // The second pass also measures each candidate's error where the next weight layers see it
  // (their pre-activations), when the caller can propagate it (adlq).
  bool propagate = false;
  bool clip_below_t = true;  // FmOptions::clip_below_t, for decisions after the second pass
};

// bits: the activation width; is_signed: the format's signedness (unsigned only for tensors
// the graph proves non-negative). Never returns NaN formats: degenerate statistics (all zero,
// one distinct value, too few samples) get the fallbacks of ALGORITHMS.md 1.5 / 4.8 with a
// note saying which.
[[nodiscard]] FmProposal propose_fm_format(const stats::TensorStats& s, int bits, bool is_signed,
                                           const FmOptions& options);

// Counts |v| into hist's equal bins on [0, max] (the last bin takes |v| >= max); non-finite
// values, and exact zeros when skip_zeros, left out. One binning for every histogram of |x|.
void count_magnitudes(std::vector<uint64_t>& hist, double max, std::span<const float> values,
                      bool skip_zeros) noexcept;

// A linear map of a tensor of quantization errors (the next weight layers, without bias or
// activation): returns the sum of squares of what it produces.
using Propagate = std::function<double(std::span<const float> error)>;

// Squared errors of candidate formats accumulated over the calibration data (second pass).
class EmpiricalErrors {
 public:
  EmpiricalErrors(std::vector<Format> candidates, Rounding rounding);
  // Also counts |x| into `bins` equal bins on [0, max] (the last bin takes |x| >= max), exact
  // zeros left out when skip_zeros. Integer counts: merges are exact and order-free.
  void enable_histogram(int bins, double max, bool skip_zeros);
  [[nodiscard]] const std::vector<uint64_t>& histogram() const { return hist_; }
  // Also accumulates, per candidate, the squared error its rounding causes after `make()`'s
  // map (each copy of this object that adds values makes its own: a map may own state).
  void enable_propagation(std::function<Propagate()> make);
  // Empty unless enabled.
  [[nodiscard]] const std::vector<double>& propagated_sq_errors() const { return prop_err_; }
  void add(std::span<const float> values);
  // Adds the errors another shard accumulated over the same candidates.
  void merge(const EmpiricalErrors& other);
  // The same candidates with no errors accumulated yet.
  [[nodiscard]] EmpiricalErrors empty_like() const;
  // The errors accumulated for `formats` (each one of this object's candidates), in that
  // order, with the histogram: one pass measured for many proposals serves each of them.
  [[nodiscard]] EmpiricalErrors select(const std::vector<Format>& formats) const;
  [[nodiscard]] const std::vector<double>& sq_errors() const { return err_; }
  [[nodiscard]] const std::vector<Format>& formats() const { return fmt_; }

 private:
  std::vector<Format> fmt_;
  std::vector<double> err_;
  Rounding rounding_;
  std::vector<uint64_t> hist_;
  double hist_max_ = 0.0;
  bool hist_skip_zeros_ = false;
  std::function<Propagate()> make_propagate_;
  Propagate propagate_;  // made on first use
  std::vector<double> prop_err_;
};

// Picks the candidate with the smallest squared error (ties: the smaller frac) and fills in
// result.format, result.candidates and result.sqnr_db (signal energy / error). A method with
// its own decision (kl: from the histogram) makes it instead.
void decide_fm_format(FmProposal& p, const EmpiricalErrors& errors, double energy);

// The entropy [bits] of the codes format f gives the calibration values -- what an entropy
// coder could store them in: the sample's non-zero values weighted by their share, the exact
// zeros by theirs (exact when the sample holds every non-zero value). `nonzero`: s.sample(),
// which callers scoring many formats of one tensor take once.
[[nodiscard]] double code_entropy_bits(const stats::TensorStats& s, std::span<const float> nonzero,
                                       const Format& f, Rounding rounding);

}  // namespace gammaq::quant
