// Reference integer kernels (the loops of kernels/reference/loops.h on codes).
#include "kernels/integer/integer.h"

#include <algorithm>
#include <cmath>

#include "kernels/reference/loops.h"

namespace gammaq::kernels {

OutputStage output_stage(const quant::Format& out, quant::Rounding rounding, const Attributes& act,
                         std::vector<int> shift) {
  OutputStage s;
  s.shift = std::move(shift);
  s.out = out;
  s.rounding = rounding;
  s.lo = out.qmin();
  s.hi = out.qmax();
  auto bound = [&](float v) {
    return quant::round_scaled(std::ldexp(static_cast<double>(v), out.frac), rounding);
  };
  if (act.activation == Activation::Relu) {
    s.lo = std::max<int64_t>(s.lo, 0);
  } else if (act.activation == Activation::Clip) {
    s.lo = std::max(s.lo, bound(act.act_min));
    s.hi = std::min(s.hi, bound(act.act_max));
  }
  return s;
}

void conv2d_int_ref(const WindowGeom& g, const int32_t* x, const int32_t* w, const int64_t* bias,
                    const OutputStage& stage, bool wide, int32_t* y) noexcept {
  auto store = [&](int64_t i, int64_t m, auto acc) { y[i] = stage.apply(acc, m); };
  if (wide)
    conv2d_loop<int64_t>(
        g, x, w, [bias](int64_t m) { return bias ? bias[m] : int64_t{0}; }, store);
  else
    conv2d_loop<int32_t>(
        g, x, w, [bias](int64_t m) { return bias ? static_cast<int32_t>(bias[m]) : 0; }, store);
}

void gemm_int_ref(int64_t n, int64_t k, int64_t out, const int32_t* x, const int32_t* w,
                  const int64_t* bias, const OutputStage& stage, bool wide, int32_t* y) noexcept {
  auto store = [&](int64_t i, int64_t o, auto acc) { y[i] = stage.apply(acc, o); };
  if (wide)
    gemm_loop<int64_t>(
        n, k, out, x, w, [bias](int64_t o) { return bias ? bias[o] : int64_t{0}; }, store);
  else
    gemm_loop<int32_t>(
        n, k, out, x, w, [bias](int64_t o) { return bias ? static_cast<int32_t>(bias[o]) : 0; },
        store);
}

void maxpool2d_int_ref(const WindowGeom& g, const int32_t* x, const OutputStage& stage,
                       int32_t* y) noexcept {
  maxpool2d_loop(g, x, y);
  const int64_t total = g.n * g.c * g.oh * g.ow;
  for (int64_t i = 0; i < total; ++i) y[i] = stage.apply(y[i], 0);
}

void avgpool2d_int_ref(const WindowGeom& g, bool count_include_pad, const int32_t* x,
                       const OutputStage& stage, int32_t* y) noexcept {
  avgpool2d_loop<int64_t>(g, count_include_pad, x, [&](int64_t i, int64_t sum, int64_t count) {
    const int64_t q =
        count ? quant::requantize_ratio(sum, count, stage.shift_of(0), stage.out, stage.rounding)
              : 0;
    y[i] = static_cast<int32_t>(std::clamp(q, stage.lo, stage.hi));
  });
}

void global_avgpool_int_ref(int64_t n, int64_t c, int64_t hw, const int32_t* x,
                            const OutputStage& stage, int32_t* y) noexcept {
  global_avgpool_loop<int64_t>(n, c, hw, x, [&](int64_t i, int64_t sum, int64_t count) {
    const int64_t q =
        quant::requantize_ratio(sum, count, stage.shift_of(0), stage.out, stage.rounding);
    y[i] = static_cast<int32_t>(std::clamp(q, stage.lo, stage.hi));
  });
}

int64_t lrn_multiplier(int64_t sum_squares, const Attributes& a, int in_frac) noexcept {
  const double d = a.bias + a.alpha / static_cast<double>(a.size) *
                                std::ldexp(static_cast<double>(sum_squares), -2 * in_frac);
  return quant::round_scaled(
      std::ldexp(std::pow(d, -static_cast<double>(a.beta)), kLrnMultiplierBits),
      quant::Rounding::HalfEven);
}

void lrn_int_ref(int64_t n, int64_t c, int64_t hw, const Attributes& a, int in_frac,
                 const int32_t* x, const OutputStage& stage, int32_t* y) noexcept {
  lrn_loop<int64_t>(n, c, hw, a.size, x, [&](int64_t i, int64_t sq) {
    y[i] = stage.apply(static_cast<int64_t>(x[i]) * lrn_multiplier(sq, a, in_frac), 0);
  });
}

void requantize_int_ref(std::span<const int32_t> x, const OutputStage& stage,
                        std::span<int32_t> y) noexcept {
  for (size_t i = 0; i < x.size(); ++i) y[i] = stage.apply(x[i], 0);
}

void binary_int_ref(OpType op, std::span<const int32_t> x0, int f0, std::span<const int32_t> x1,
                    int f1, const OutputStage& stage, std::span<int32_t> y) noexcept {
  if (op == OpType::Mul) {
    for (size_t i = 0; i < y.size(); ++i)
      y[i] = stage.apply(static_cast<int64_t>(x0[i]) * x1[i], 0);
    return;
  }
  const int f = std::max(f0, f1);
  for (size_t i = 0; i < y.size(); ++i)
    y[i] = stage.apply(static_cast<int64_t>(x0[i]) * (int64_t{1} << (f - f0)) +
                           static_cast<int64_t>(x1[i]) * (int64_t{1} << (f - f1)),
                       0);
}

void concat_int_ref(int64_t axis, std::span<const Shape> xs, std::span<const int32_t* const> x,
                    std::span<const OutputStage> stages, const Shape& ys, int32_t* y) noexcept {
  concat_loop(axis, xs, x, ys, y, [&](size_t t, int32_t v) { return stages[t].apply(v, 0); });
}

}  // namespace gammaq::kernels
