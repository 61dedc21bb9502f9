// Reference convolution and fully connected layers: plain loops, double accumulation.
#include "kernels/kernels.h"

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
  const int64_t cg = g.c / g.group;  // input channels per group
  const int64_t mg = g.m / g.group;  // output channels per group
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t n = 0; n < g.n; ++n) {
    for (int64_t m = 0; m < g.m; ++m) {
      const int64_t grp = m / mg;
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          double acc = b ? b[m] : 0.0;
          for (int64_t c = 0; c < cg; ++c) {
            const float* xc = x + ((n * g.c) + grp * cg + c) * g.h * g.w;
            const float* wc = w + (m * cg + c) * g.kh * g.kw;
            for (int64_t ky = 0; ky < g.kh; ++ky) {
              const int64_t iy = oy * g.sh - g.pt + ky * g.dh;
              if (iy < 0 || iy >= g.h) continue;
              for (int64_t kx = 0; kx < g.kw; ++kx) {
                const int64_t ix = ox * g.sw - g.pl + kx * g.dw;
                if (ix < 0 || ix >= g.w) continue;
                acc += static_cast<double>(xc[iy * g.w + ix]) * wc[ky * g.kw + kx];
              }
            }
          }
          y[((n * g.m + m) * g.oh + oy) * g.ow + ox] = activate(static_cast<float>(acc), a);
        }
      }
    }
  }
}

void gemm_f32_ref(int64_t n, int64_t k, int64_t out, const float* x, const float* w, const float* b,
                  float* y, const Attributes& a) noexcept {
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t o = 0; o < out; ++o) {
      double acc = b ? b[o] : 0.0;
      for (int64_t j = 0; j < k; ++j) acc += static_cast<double>(x[i * k + j]) * w[o * k + j];
      y[i * out + o] = activate(static_cast<float>(acc), a);
    }
  }
}

}  // namespace gammaq::kernels
