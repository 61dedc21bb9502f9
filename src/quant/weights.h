// Weight and bias formats: Algorithm 1 of Kim et al. (ALGORITHMS.md section 2), the Ristretto
// eq. (8) baseline (section 3), per-output-channel Algorithm 1, and the SQNR of section 6.1.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "quant/format.h"

namespace gammaq::quant {

// One candidate fractional length and its squared error D(frac).
struct FracScore {
  int frac = 0;
  double sq_error = 0;

  friend bool operator==(const FracScore&, const FracScore&) = default;
};

struct WeightChoice {
  Format format;        // signed, `bits` bits, the chosen frac
  double sq_error = 0;  // D(format.frac) = sum (w - Q(w))^2, in double
  double sqnr_db = 0;   // 10 log10(sum w^2 / D); +infinity if D == 0; NaN ("undefined") if w == 0
  // The tensor is all zero (or empty): any frac is exact, frac = bits - 1 (ALGORITHMS.md 1.5),
  // sq_error = 0, sqnr_db = NaN and `tried` is empty.
  bool degenerate = false;
  std::vector<FracScore> tried;  // every candidate evaluated, in increasing frac
};

// sum_j (w_j - fake_quant(w_j))^2, accumulated in double.
[[nodiscard]] double sq_error(std::span<const float> w, const Format& format, Rounding rounding);

// 10 log10(signal_energy / noise_energy): NaN when signal_energy == 0 (undefined, whatever the
// noise), +infinity when noise_energy == 0 and the signal is not.
[[nodiscard]] double sqnr_db(double signal_energy, double noise_energy);
// The same from tensors: signal sum ref^2, noise sum (ref - approx)^2, both in double. The spans
// must have equal sizes (GAMMAQ_CHECK).
[[nodiscard]] double sqnr_db(std::span<const float> ref, std::span<const float> approx);

// Algorithm 1 (signed, `bits` bits): a = max|w|, m = bits - 1 - ceil_log2(a), candidates
// m .. m + window - 1, argmin of D; ties go to the smaller frac. Paper: window 2; gammaq's
// default is 4 (ALGORITHMS.md 13).
// window == 0 means "walk up from m while D strictly decreases": frac = m, m + 1, ... is
// evaluated until D(frac) >= D(frac - 1), and frac - 1 is chosen (the first local minimum; the
// last, non-improving candidate is listed in `tried` too).
// Candidate fracs are clamped to [kMinFrac, kMaxFrac], so fewer than `window` may be tried for a
// tensor whose maximum is huge or tiny.
// Errors: bits outside 2..16 or window < 0 (InvalidOption); a NaN or infinite weight
// (InvalidData, naming its index; callers add the initializer name with with_context).
[[nodiscard]] WeightChoice choose_weight_format(std::span<const float> w, int bits, int window,
                                                Rounding rounding);

// Algorithm 1 on each output channel of w = [channels, rest...] (row-major, so channel c is the
// c-th contiguous block of w.size() / channels elements). Requires channels >= 1 dividing
// w.size() (GAMMAQ_CHECK: the caller derives both from one shape). Same errors as above.
[[nodiscard]] std::vector<WeightChoice> choose_weight_format_per_channel(std::span<const float> w,
                                                                         int64_t channels, int bits,
                                                                         int window,
                                                                         Rounding rounding);

// Ristretto eq. (8), weights: signed, frac = bits - 1 - ceil_log2(max|w|) (the m of Algorithm 1),
// bits - 1 for an all-zero tensor; frac clamped as in make_format. Same errors as above.
[[nodiscard]] Format ristretto_weight_format(std::span<const float> w, int bits);

// Ristretto eq. (8), feature maps: frac = bits - ceil_log2(max_abs) (one integer bit less than
// the weight rule: with is_signed the values above about half of 2^ceil_log2(max_abs) clip,
// ALGORITHMS.md 1.3); max_abs == 0 gives frac = bits - 1. max_abs must be finite and >= 0
// (GAMMAQ_CHECK: non-finite activations are excluded from statistics). Errors: bits (as above).
[[nodiscard]] Format ristretto_activation_format(double max_abs, int bits, bool is_signed);

}  // namespace gammaq::quant
