// The fast int8 convolution: oneDNN's u8/s8 x s8 -> s32 kernels (VNNI / AMX where the CPU has
// them), then the integer engine's output stage. Same integers as conv2d_int_ref, and only used
// where that is proven:
//
//   Without VNNI, x86 int8 kernels multiply with vpmaddubsw, which adds two u8 x s8 products
//   into a *saturating* int16 (oneDNN turns an s8 source into u8 by adding 128). A layer is
//   exact there when 2 * A * W <= 32767, A the largest source byte (the input format's qmax,
//   or qmax + 128 for a signed source) and W the largest |weight code| of the layer. 8-bit
//   weights (W up to 128) against 8-bit activations (A = 255) do not fit, so their weights are
//   split, w = 2 * hi + lo with hi = floor(w / 2) in [-64, 63] and lo in {0, 1}: two int8
//   convolutions that each fit, summed as 2 * acc_hi + acc_lo. With VNNI (vpdpbusd adds the
//   products in int32) or oneDNN's reference kernels, every layer is exact as is.
//
//   oneDNN's int8 kernels also pass the int32 accumulator through float on the way out (to
//   apply scales), exact only up to 2^24. So a layer takes this path only when every
//   accumulator of every pass is provably below 2^24: sum over the taps of A * |w| per output
//   channel. Signed sources are shifted into u8 (x + 2^(bits-1)) and the accumulator corrected
//   by the weights under the in-bounds taps, since oneDNN 2.6's own s8 sources go wrong at
//   padded borders.
//
// The source codes arrive as the engine's int32 NCHW planes and leave the same way; weights are
// reordered once. Accumulators fit int32 (the program proved it: !IntegerNode::wide).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "kernels/integer/integer.h"
#include "kernels/kernels.h"
#include "quant/format.h"

namespace gammaq::kernels {

// Whether a convolution with these operands can run on the int8 path at all: input and
// weights of <= 8 bits and an int32 accumulator.
[[nodiscard]] bool int8_conv_applies(const quant::Format& input, const quant::Format& weight,
                                     bool wide) noexcept;

class Int8Conv {
 public:
  // g: the geometry, batch included; w: weight codes [m][c/group][kh][kw]; bias: accumulator-scale
  // codes per output channel (may be null). Null when the layer's accumulators cannot be proven
  // exact on oneDNN's kernels (see above): the caller runs conv2d_int.
  [[nodiscard]] static std::unique_ptr<Int8Conv> make(const WindowGeom& g,
                                                      const quant::Format& input, const int32_t* w,
                                                      const int64_t* bias);
  ~Int8Conv();
  Int8Conv(const Int8Conv&) = delete;
  Int8Conv& operator=(const Int8Conv&) = delete;

  void run(const int32_t* x, const OutputStage& stage, int32_t* y);

  // What it runs: "jit_uni_int8:avx2 (split weights)" and the like.
  [[nodiscard]] const std::string& description() const noexcept;

 private:
  struct Impl;
  explicit Int8Conv(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gammaq::kernels
