// Reference convolution and fully connected layers: plain loops, double accumulation.
#include "kernels/kernels.h"
#include "kernels/reference/loops.h"

namespace gammaq::kernels {

WindowGeom window_geom(const Attributes& a, const Shape& x, const Shape& y) {
  WindowGeom g;
  g.n = x[0];
  g.c = x[1];
  g.h = x[2];
  g.w = x[3];
  g.m = y[1];
  g.oh = y[2];
  g.ow = y[3];
  g.kh = a.kernel[0];
  g.kw = a.kernel[1];
  g.sh = a.strides[0];
  g.sw = a.strides[1];
  g.dh = a.dilations.empty() ? 1 : a.dilations[0];
  g.dw = a.dilations.empty() ? 1 : a.dilations[1];
  g.pt = a.pads[0];
  g.pl = a.pads[1];
  g.pb = a.pads[2];
  g.pr = a.pads[3];
  g.group = a.group;
  return g;
}

void conv2d_f32_ref(const WindowGeom& g, const float* x, const float* w, const float* b, float* y,
                    const Attributes& a) noexcept {
  conv2d_loop<double>(
      g, x, w, [b](int64_t m) { return b ? static_cast<double>(b[m]) : 0.0; },
      [y, &a](int64_t i, int64_t, double acc) { y[i] = activate(static_cast<float>(acc), a); });
}

void gemm_f32_ref(int64_t n, int64_t k, int64_t out, const float* x, const float* w, const float* b,
                  float* y, const Attributes& a) noexcept {
  gemm_loop<double>(
      n, k, out, x, w, [b](int64_t o) { return b ? static_cast<double>(b[o]) : 0.0; },
      [y, &a](int64_t i, int64_t, double acc) { y[i] = activate(static_cast<float>(acc), a); });
}

}  // namespace gammaq::kernels
