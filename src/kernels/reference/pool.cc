// Reference pooling and local response normalisation.
#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/kernels.h"

namespace gammaq::kernels {

void maxpool2d_f32_ref(const WindowGeom& g, const float* x, float* y) noexcept {
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t n = 0; n < g.n; ++n) {
    for (int64_t c = 0; c < g.c; ++c) {
      const float* xc = x + (n * g.c + c) * g.h * g.w;
      float* yc = y + (n * g.c + c) * g.oh * g.ow;
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          float best = std::numeric_limits<float>::lowest();
          for (int64_t ky = 0; ky < g.kh; ++ky) {
            const int64_t iy = oy * g.sh - g.pt + ky * g.dh;
            if (iy < 0 || iy >= g.h) continue;
            for (int64_t kx = 0; kx < g.kw; ++kx) {
              const int64_t ix = ox * g.sw - g.pl + kx * g.dw;
              if (ix < 0 || ix >= g.w) continue;
              best = std::max(best, xc[iy * g.w + ix]);
            }
          }
          yc[oy * g.ow + ox] = best;
        }
      }
    }
  }
}

void avgpool2d_f32_ref(const WindowGeom& g, bool count_include_pad, const float* x,
                       float* y) noexcept {
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t n = 0; n < g.n; ++n) {
    for (int64_t c = 0; c < g.c; ++c) {
      const float* xc = x + (n * g.c + c) * g.h * g.w;
      float* yc = y + (n * g.c + c) * g.oh * g.ow;
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          double sum = 0.0;
          int64_t count = 0;
          for (int64_t ky = 0; ky < g.kh; ++ky) {
            const int64_t iy = oy * g.sh - g.pt + ky;
            // With count_include_pad, explicit padding counts but the ceil_mode overhang
            // past the padded input does not (ONNX Runtime's rule).
            if (iy >= g.h + g.pb) break;
            for (int64_t kx = 0; kx < g.kw; ++kx) {
              const int64_t ix = ox * g.sw - g.pl + kx;
              if (ix >= g.w + g.pr) break;
              const bool inside = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w;
              if (inside) sum += xc[iy * g.w + ix];
              if (inside || count_include_pad) ++count;
            }
          }
          yc[oy * g.ow + ox] = count ? static_cast<float>(sum / count) : 0.0f;
        }
      }
    }
  }
}

void global_avgpool_f32_ref(int64_t n, int64_t c, int64_t hw, const float* x, float* y) noexcept {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n * c; ++i) {
    double sum = 0.0;
    for (int64_t j = 0; j < hw; ++j) sum += x[i * hw + j];
    y[i] = static_cast<float>(sum / static_cast<double>(hw));
  }
}

void lrn_f32_ref(int64_t n, int64_t c, int64_t hw, const Attributes& a, const float* x,
                 float* y) noexcept {
  const int64_t before = (a.size - 1) / 2;  // floor((size-1)/2) channels before
  const int64_t after = a.size - 1 - before;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t ch = 0; ch < c; ++ch) {
      for (int64_t p = 0; p < hw; ++p) {
        double sq = 0.0;
        for (int64_t k = std::max<int64_t>(0, ch - before); k <= std::min(c - 1, ch + after); ++k) {
          const double v = x[(i * c + k) * hw + p];
          sq += v * v;
        }
        const double d = std::pow(a.bias + a.alpha / static_cast<double>(a.size) * sq, a.beta);
        y[(i * c + ch) * hw + p] = static_cast<float>(x[(i * c + ch) * hw + p] / d);
      }
    }
  }
}

}  // namespace gammaq::kernels
