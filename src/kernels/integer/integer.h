// Bit-exact integer kernels: activations are integer codes (int32 storage of 2..16-bit
// formats), weights codes, biases at the accumulator's scale. These define what the hardware
// computes (ALGORITHMS.md 1.2); the fixed-point simulation is checked against them.
//
// Every kernel ends in an output stage: requantize the accumulator (or the input code) to the
// output format by an exact shift (a ratio for average pooling) with the plan's tie rule, then
// saturate, then clamp to a fused activation's bounds. Rounding commutes with ReLU and Clip
// (monotone, 0 on every grid), so the bounds apply to codes.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kernels/kernels.h"
#include "quant/format.h"

namespace gammaq::kernels {

struct OutputStage {
  std::vector<int> shift;  // per output channel (one entry: every channel): acc frac - out frac
  quant::Format out;
  quant::Rounding rounding = quant::Rounding::HalfEven;
  int64_t lo = 0, hi = 0;  // the output format's range, narrowed by a fused ReLU/Clip

  [[nodiscard]] int shift_of(int64_t channel) const noexcept {
    return shift.size() == 1 ? shift[0] : shift[static_cast<size_t>(channel)];
  }
  [[nodiscard]] int32_t apply(int64_t acc, int64_t channel) const noexcept {
    const int s = shift_of(channel);
    // Shift 0 is saturation alone (lo/hi lie within the format's range): no call. A
    // threshold table compares instead (inside requantize).
    if (s == 0 && !out.table) return static_cast<int32_t>(acc < lo ? lo : (acc > hi ? hi : acc));
    const int64_t q = quant::requantize(acc, s, out, rounding);
    return static_cast<int32_t>(q < lo ? lo : (q > hi ? hi : q));
  }
};

// The stage for an output format and an activation: the code bounds of act(v) (act_min/max
// for Clip, [0, inf) for ReLU) intersected with the format's range. Clip's bounds are rounded
// with the same rule.
[[nodiscard]] OutputStage output_stage(const quant::Format& out, quant::Rounding rounding,
                                       const Attributes& act, std::vector<int> shift);

// y = stage(bias[m] + sum x * w). `wide`: accumulate in int64 (else int32, which the caller
// has proven cannot overflow). bias may be null.
void conv2d_int_ref(const WindowGeom& g, const int32_t* x, const int32_t* w, const int64_t* bias,
                    const OutputStage& stage, bool wide, int32_t* y) noexcept;
void gemm_int_ref(int64_t n, int64_t k, int64_t out, const int32_t* x, const int32_t* w,
                  const int64_t* bias, const OutputStage& stage, bool wide, int32_t* y) noexcept;
// The same results faster (im2col + a vectorised GEMM; tested equal to the references).
void conv2d_int(const WindowGeom& g, const int32_t* x, const int32_t* w, const int64_t* bias,
                const OutputStage& stage, bool wide, int32_t* y) noexcept;
void gemm_int(int64_t n, int64_t k, int64_t out, const int32_t* x, const int32_t* w,
              const int64_t* bias, const OutputStage& stage, bool wide, int32_t* y) noexcept;
// Max pooling of codes, then stage (shift = in frac - out frac).
// The same results as maxpool2d_int_ref faster (row operations, bounds found once).
void maxpool2d_int(const WindowGeom& g, const int32_t* x, const OutputStage& stage,
                   int32_t* y) noexcept;
void maxpool2d_int_ref(const WindowGeom& g, const int32_t* x, const OutputStage& stage,
                       int32_t* y) noexcept;
// R(sum * 2^-shift / count) per window, saturated (quant::requantize_ratio).
void avgpool2d_int_ref(const WindowGeom& g, bool count_include_pad, const int32_t* x,
                       const OutputStage& stage, int32_t* y) noexcept;
void global_avgpool_int_ref(int64_t n, int64_t c, int64_t hw, const int32_t* x,
                            const OutputStage& stage, int32_t* y) noexcept;

// LRN in fixed point. S = sum of squared codes over the window (exact, int64); the divisor's
// power becomes a multiplier M(S) = R(2^30 (bias + alpha/size * S * 2^(-2 in_frac))^-beta),
// computed in double (std::pow: the one non-integer step, a lookup table or function unit in
// hardware); y = stage(x * M) with stage shift = 30 + in_frac - out_frac.
inline constexpr int kLrnMultiplierBits = 30;
[[nodiscard]] int64_t lrn_multiplier(int64_t sum_squares, const Attributes& a,
                                     int in_frac) noexcept;
// lrn_multiplier for every sum of squares an input of |code| <= max_abs_input can give, when
// there are fewer than 2^22 (8-bit inputs); empty otherwise.
struct LrnTable {
  static constexpr int64_t kMaxEntries = int64_t{1} << 22;
  LrnTable() = default;
  LrnTable(const Attributes& a, int in_frac, int64_t max_abs_input);
  std::vector<int64_t> multiplier;
};
// lrn_int_ref with the multipliers looked up (the same function, no pow per value).
void lrn_int(int64_t n, int64_t c, int64_t hw, const Attributes& a, int in_frac,
             const LrnTable& table, const int32_t* x, const OutputStage& stage,
             int32_t* y) noexcept;
void lrn_int_ref(int64_t n, int64_t c, int64_t hw, const Attributes& a, int in_frac,
                 const int32_t* x, const OutputStage& stage, int32_t* y) noexcept;

// y = stage(x) elementwise (Relu, Clip, Flatten, Reshape, Identity, Dropout: the activation is
// in the stage's bounds).
void requantize_int_ref(std::span<const int32_t> x, const OutputStage& stage,
                        std::span<int32_t> y) noexcept;
// Add / Mul of two same-shape code tensors with fracs f0, f1: Add aligns both to max(f0, f1)
// by left shifts (stage shift = max - out frac), Mul multiplies codes (shift = f0 + f1 - out).
void binary_int_ref(OpType op, std::span<const int32_t> x0, int f0, std::span<const int32_t> x1,
                    int f1, const OutputStage& stage, std::span<int32_t> y) noexcept;
// Concat along `axis`; each input requantized by its own stage (its frac - out frac).
// concat_int_ref in parallel, identity stages as clamped copies.
void concat_int(int64_t axis, std::span<const Shape> xs, std::span<const int32_t* const> x,
                std::span<const OutputStage> stages, const Shape& ys, int32_t* y) noexcept;
void concat_int_ref(int64_t axis, std::span<const Shape> xs, std::span<const int32_t* const> x,
                    std::span<const OutputStage> stages, const Shape& ys, int32_t* y) noexcept;

}  // namespace gammaq::kernels
