// Reference pooling and local response normalisation.
#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/kernels.h"
#include "kernels/reference/loops.h"

namespace gammaq::kernels {

void maxpool2d_f32_ref(const WindowGeom& g, const float* x, float* y) noexcept {
  maxpool2d_loop(g, x, y);
}

void avgpool2d_f32_ref(const WindowGeom& g, bool count_include_pad, const float* x,
                       float* y) noexcept {
  avgpool2d_loop<double>(g, count_include_pad, x, [y](int64_t i, double sum, int64_t count) {
    y[i] = count ? static_cast<float>(sum / static_cast<double>(count)) : 0.0f;
  });
}

void global_maxpool_f32_ref(int64_t n, int64_t c, int64_t hw, const float* x, float* y) noexcept {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n * c; ++i) {
    const float* p = x + i * hw;
    float m = p[0];
    for (int64_t k = 1; k < hw; ++k) m = p[k] > m ? p[k] : m;
    y[i] = m;
  }
}

void global_avgpool_f32_ref(int64_t n, int64_t c, int64_t hw, const float* x, float* y) noexcept {
  global_avgpool_loop<double>(n, c, hw, x, [y](int64_t i, double sum, int64_t count) {
    y[i] = static_cast<float>(sum / static_cast<double>(count));
  });
}

void lrn_f32_ref(int64_t n, int64_t c, int64_t hw, const Attributes& a, const float* x,
                 float* y) noexcept {
  lrn_loop<double>(n, c, hw, a.size, x, [&a, x, y](int64_t i, double sq) {
    const double d = std::pow(a.bias + a.alpha / static_cast<double>(a.size) * sq, a.beta);
    y[i] = static_cast<float>(x[i] / d);
  });
}

}  // namespace gammaq::kernels
