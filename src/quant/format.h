// Dynamic fixed point (ALGORITHMS.md section 1): one (bits, frac, signed) format per tensor, the
// three rounding modes, quantize / dequantize / fake-quant and integer requantization by shift.
//
// A real value v is stored as q = clamp(R(v * 2^frac), qmin, qmax) and means q * 2^-frac.
// Scaling always uses ldexp (exact in binary floating point), never pow.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

namespace gammaq::quant {

// Tie rule of the rounding R (ALGORITHMS.md 1.2). Default: HalfEven (ONNX QuantizeLinear/Round).
enum class Rounding {
  HalfEven,  // ties to the even integer (ONNX, Ristretto GPU path)
  HalfAway,  // ties away from zero (C round, Ristretto CPU path)
  HalfUp,    // ties towards +infinity (add half, arithmetic shift right)
};

// "half_even", "half_away", "half_up" (the names stored in quant.json).
[[nodiscard]] std::string_view rounding_name(Rounding rounding) noexcept;
// Inverse of rounding_name; throws Error(InvalidOption) naming the value and the choices.
[[nodiscard]] Rounding parse_rounding(std::string_view name);

inline constexpr int kMinBits = 2;
inline constexpr int kMaxBits = 16;
// Fractional lengths are clamped to [kMinFrac, kMaxFrac] (ALGORITHMS.md 1.5). Within this range
// every code of a format with at most 16 bits times 2^-frac is a normal float (|q| < 2^16, so at
// most 16 significant bits, and 2^-64 <= |value| < 2^80), so fake-quantized floats are exact.
inline constexpr int kMinFrac = -64;
inline constexpr int kMaxFrac = 64;

// A threshold quantizer on a format's grid (ALGORITHMS.md 9.3): a value v takes the bin
// index #{k : v >= T_k 2^-frac} (the first comparison strict, v > T_0, when zero_bin: the
// CDF + ReLU hybrid's exact-zero bin) and means levels[index] 2^-frac. In the integer engine
// the comparisons run on the accumulator against the thresholds at its scale (no
// requantization multiply or shift); the stored code is the level, so a consumer multiplies
// it as any other code (the K-entry table decode of an index).
struct ThresholdTable {
  std::vector<int32_t> thresholds;  // strictly ascending grid codes T_k
  std::vector<int32_t> levels;      // thresholds.size() + 1 ascending grid codes V_k
  bool zero_bin = false;
  // The bin of a value already scaled by 2^frac (exact in double).
  [[nodiscard]] int index_scaled(double scaled) const noexcept;
  // The bin of the exact rational acc * 2^-shift, in grid units (no rounding anywhere).
  [[nodiscard]] int index_shifted(int64_t acc, int shift) const noexcept;
  // The bin of num * 2^-shift / den (den >= 1), in grid units.
  [[nodiscard]] int index_ratio(int64_t num, int64_t den, int shift) const noexcept;
  friend bool operator==(const ThresholdTable&, const ThresholdTable&) = default;
};

// A dynamic fixed-point format. Build it with make_format, which validates bits and clamps frac;
// the member functions assume 1 <= bits <= 62.
struct Format {
  Format() = default;
  Format(int b, int f, bool s, std::shared_ptr<const ThresholdTable> t = nullptr)
      : bits(b), frac(f), is_signed(s), table(std::move(t)) {}

  int bits = 8;
  int frac = 0;  // fractional length FL: step 2^-frac; may be negative (step > 1)
  bool is_signed = true;
  // Non-null: a threshold quantizer on this grid decides the code (quantize_code, fake_quant,
  // requantize and requantize_ratio all go through it) instead of rounding.
  std::shared_ptr<const ThresholdTable> table;

  // Smallest / largest code: -2^(bits-1) / 2^(bits-1) - 1 signed, 0 / 2^bits - 1 unsigned.
  [[nodiscard]] int64_t qmin() const noexcept;
  [[nodiscard]] int64_t qmax() const noexcept;
  // 2^-frac (ldexp).
  [[nodiscard]] double step() const noexcept;
  // qmin() * step() and qmax() * step(): both ends of the range are grid points.
  [[nodiscard]] double min_value() const noexcept;
  [[nodiscard]] double max_value() const noexcept;

  friend bool operator==(const Format& a, const Format& b) noexcept {
    return a.bits == b.bits && a.frac == b.frac && a.is_signed == b.is_signed &&
           (a.table == b.table || (a.table && b.table && *a.table == *b.table));
  }
};

// Validates bits in [kMinBits, kMaxBits] (Error(InvalidOption) "bits N: must be in 2..16") and
// clamps frac to [kMinFrac, kMaxFrac] (no error: a subnormal or huge tensor maximum legitimately
// asks for an out-of-range FL; callers that report clamping compare the result with their frac).
[[nodiscard]] Format make_format(int bits, int frac, bool is_signed);

// Exact ceil(log2 a) via frexp (ALGORITHMS.md 1.4), subnormals included. Requires a finite a > 0
// (GAMMAQ_CHECK: callers handle a == 0 as the degenerate case of ALGORITHMS.md 1.5).
[[nodiscard]] int ceil_log2(double a);

// R(x) for x already scaled by 2^frac, with the tie rule `rounding`. Exact for every double (no
// x + 0.5 shortcut). NaN -> 0; results beyond the int64 range saturate to its ends.
[[nodiscard]] int64_t round_scaled(double x, Rounding rounding) noexcept;

// clamp(R(v * 2^frac), qmin, qmax); NaN -> 0, +-infinity -> qmax / qmin.
[[nodiscard]] int64_t quantize_code(double v, const Format& format, Rounding rounding) noexcept;
// q * 2^-frac (exact).
[[nodiscard]] double dequantize(int64_t q, const Format& format) noexcept;
// dequantize(quantize_code(v)). Idempotent: fake_quant(fake_quant(v)) == fake_quant(v).
[[nodiscard]] double fake_quant(double v, const Format& format, Rounding rounding) noexcept;
// In place, element by element, computed in double. The stored float is exactly the double
// result whenever bits <= 16 and kMinFrac <= frac <= kMaxFrac (what make_format guarantees);
// outside that the double result is rounded to the nearest float. NaN -> 0.
void fake_quant(std::span<float> x, const Format& format, Rounding rounding) noexcept;

// Requantizes an integer accumulator: R(acc * 2^-shift) computed exactly on integers (rounding
// arithmetic right shift for shift > 0, exact left shift for shift <= 0, ALGORITHMS.md 1.2), then
// saturated to [out.qmin(), out.qmax()]. Equals quantize_code of the exact rational acc * 2^-shift
// for every acc and shift (no overflow: large left shifts saturate, shifts >= 64 are handled).
[[nodiscard]] int64_t requantize(int64_t acc, int shift, const Format& out,
                                 Rounding rounding) noexcept;

// R(num * 2^-shift / den) for den >= 1, computed exactly on integers (128-bit), then saturated
// to [out.qmin(), out.qmax()]: average pooling's division by the window size. Equals
// requantize(num, shift, out, rounding) for den == 1.
[[nodiscard]] int64_t requantize_ratio(int64_t num, int64_t den, int shift, const Format& out,
                                       Rounding rounding) noexcept;

// A bias at accumulator precision (frac acc_frac), held as code * 2^-(acc_frac - shift): the
// code is R(b * 2^(acc_frac - shift)) with the smallest shift >= 0 that keeps |code| < 2^24,
// so the value is exact in float (the simulation) and code << shift is the integer the
// accumulator starts from (the integer engine). shift > 0 only for biases far larger than
// the accumulator's step (16-bit formats).
struct AccumulatorBias {
  int64_t code = 0;
  int shift = 0;
  [[nodiscard]] int64_t accumulator() const noexcept { return code * (int64_t{1} << shift); }
  [[nodiscard]] double value(int acc_frac) const noexcept;
};
[[nodiscard]] AccumulatorBias accumulator_bias(double b, int acc_frac, Rounding rounding) noexcept;

}  // namespace gammaq::quant
