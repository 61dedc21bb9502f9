// Reference elementwise, broadcasting, normalisation, softmax, pad and concat kernels.
#include <algorithm>
#include <cmath>

#include "kernels/kernels.h"
#include "kernels/reference/loops.h"

namespace gammaq::kernels {

void unary_f32_ref(OpType op, const Attributes& a, std::span<const float> x,
                   std::span<float> y) noexcept {
  const int64_t n = static_cast<int64_t>(x.size());
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    switch (op) {
      case OpType::Relu: y[i] = v > 0.0f ? v : 0.0f; break;
      case OpType::Clip: y[i] = std::min(std::max(v, a.clip_min), a.clip_max); break;
      case OpType::LeakyRelu: y[i] = v >= 0.0f ? v : v * a.alpha; break;
      case OpType::Sigmoid:
        y[i] = static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(v))));
        break;
      default: y[i] = v; break;
    }
  }
}

namespace {
// Strides of shape s broadcast to rank r (0 where the dimension is broadcast).
std::vector<int64_t> broadcast_strides(const Shape& s, const Shape& ys) {
  const size_t r = ys.size();
  std::vector<int64_t> st(r, 0);
  int64_t stride = 1;
  for (size_t k = 0; k < s.size(); ++k) {
    const size_t d = s.size() - 1 - k;  // dimension of s, from the right
    const size_t yd = r - 1 - k;
    st[yd] = s[d] == 1 ? 0 : stride;
    stride *= s[d];
  }
  return st;
}
}  // namespace

void binary_f32_ref(OpType op, const Attributes& a, const Shape& s0, const float* x0,
                    const Shape& s1, const float* x1, const Shape& ys, float* y) noexcept {
  const auto st0 = broadcast_strides(s0, ys);
  const auto st1 = broadcast_strides(s1, ys);
  const int64_t total = shape_numel(ys);
  const size_t r = ys.size();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < total; ++i) {
    int64_t rem = i, o0 = 0, o1 = 0;
    for (size_t k = r; k-- > 0;) {
      const int64_t idx = rem % ys[k];
      rem /= ys[k];
      o0 += idx * st0[k];
      o1 += idx * st1[k];
    }
    const float v = op == OpType::Mul ? x0[o0] * x1[o1] : x0[o0] + x1[o1];
    y[i] = activate(v, a);
  }
}

void batchnorm_f32_ref(int64_t n, int64_t c, int64_t inner, const float* scale, const float* bias,
                       const float* mean, const float* var, float eps, const float* x,
                       float* y) noexcept {
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t ch = 0; ch < c; ++ch) {
      const double s = scale[ch] / std::sqrt(static_cast<double>(var[ch]) + eps);
      const float* xc = x + (i * c + ch) * inner;
      float* yc = y + (i * c + ch) * inner;
      for (int64_t p = 0; p < inner; ++p)
        yc[p] = static_cast<float>((xc[p] - static_cast<double>(mean[ch])) * s + bias[ch]);
    }
  }
}

void softmax_f32_ref(int64_t rows, int64_t cols, const float* x, float* y) noexcept {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    const float mx = *std::max_element(xr, xr + cols);
    double sum = 0.0;
    for (int64_t j = 0; j < cols; ++j) sum += std::exp(static_cast<double>(xr[j]) - mx);
    for (int64_t j = 0; j < cols; ++j)
      yr[j] = static_cast<float>(std::exp(static_cast<double>(xr[j]) - mx) / sum);
  }
}

void pad_f32_ref(const Shape& xs, const std::vector<int64_t>& pads, float value, const float* x,
                 const Shape& ys, float* y) noexcept {
  const size_t r = ys.size();
  const int64_t total = shape_numel(ys);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < total; ++i) {
    int64_t rem = i, src = 0, stride = 1;
    bool inside = true;
    for (size_t k = r; k-- > 0;) {
      const int64_t idx = rem % ys[k] - pads[k];
      rem /= ys[k];
      if (idx < 0 || idx >= xs[k]) inside = false;
      src += idx * stride;
      stride *= xs[k];
    }
    y[i] = inside ? x[src] : value;
  }
}

void concat_f32_ref(int64_t axis, std::span<const Shape> xs, std::span<const float* const> x,
                    const Shape& ys, float* y) noexcept {
  concat_loop(axis, xs, x, ys, y, [](size_t, float v) { return v; });
}

}  // namespace gammaq::kernels
