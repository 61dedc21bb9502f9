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
      case OpType::SiLU:
        y[i] = static_cast<float>(v / (1.0 + std::exp(-static_cast<double>(v))));
        break;
      case OpType::HardSigmoid:
        y[i] = static_cast<float>(std::clamp(static_cast<double>(a.alpha) * v + a.beta, 0.0, 1.0));
        break;
      case OpType::HardSwish:
        y[i] =
            static_cast<float>(v * std::clamp(static_cast<double>(a.alpha) * v + a.beta, 0.0, 1.0));
        break;
      case OpType::Tanh: y[i] = static_cast<float>(std::tanh(static_cast<double>(v))); break;
      case OpType::Elu:
        y[i] = v >= 0.0f ? v : static_cast<float>(a.alpha * std::expm1(static_cast<double>(v)));
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

namespace {
// Calls f(i, x0 offset, x1 offset) for every output index i of ys.
template <typename F>
void broadcast_loop(const Shape& s0, const Shape& s1, const Shape& ys, F f) {
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
    f(i, o0, o1);
  }
}
}  // namespace

void binary_f32_ref(OpType op, const Attributes& a, const Shape& s0, const float* x0,
                    const Shape& s1, const float* x1, const Shape& ys, float* y) noexcept {
  broadcast_loop(s0, s1, ys, [&](int64_t i, int64_t o0, int64_t o1) {
    y[i] = activate(static_cast<float>(binary_exact(op, a, x0[o0], x1[o1])), a);
  });
}

void binary_rounded_ref(OpType op, const Attributes& a, const Shape& s0, const float* x0,
                        const Shape& s1, const float* x1, const Shape& ys, float* y,
                        const OutputQuant& q) noexcept {
  broadcast_loop(s0, s1, ys, [&](int64_t i, int64_t o0, int64_t o1) {
    const double v = activate_exact(binary_exact(op, a, x0[o0], x1[o1]), a);
    y[i] = static_cast<float>(quant::fake_quant(v, q.out, q.rounding));
  });
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

void softmax_axis_f32_ref(int64_t outer, int64_t cols, int64_t inner, const float* x,
                          float* y) noexcept {
  if (inner == 1) return softmax_f32_ref(outer, cols, x, y);
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const float* xr = x + o * cols * inner + i;
      float* yr = y + o * cols * inner + i;
      float mx = xr[0];
      for (int64_t j = 1; j < cols; ++j) mx = std::max(mx, xr[j * inner]);
      double sum = 0.0;
      for (int64_t j = 0; j < cols; ++j) sum += std::exp(static_cast<double>(xr[j * inner]) - mx);
      for (int64_t j = 0; j < cols; ++j)
        yr[j * inner] = static_cast<float>(std::exp(static_cast<double>(xr[j * inner]) - mx) / sum);
    }
  }
}

void pad_f32_ref(const Shape& xs, const std::vector<int64_t>& pads, float value, const float* x,
                 const Shape& ys, float* y, int mode) noexcept {
  const size_t r = ys.size();
  const int64_t total = shape_numel(ys);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < total; ++i) {
    int64_t rem = i, src = 0, stride = 1;
    bool inside = true;
    for (size_t k = r; k-- > 0;) {
      int64_t idx = rem % ys[k] - pads[k];
      rem /= ys[k];
      const int64_t n = xs[k];
      if (idx < 0 || idx >= n) {
        if (mode == kPadEdge) {
          idx = idx < 0 ? 0 : n - 1;
        } else if (mode == kPadReflect && n > 1) {  // mirror without repeating the edge
          const int64_t period = 2 * (n - 1);
          idx = ((idx % period) + period) % period;
          if (idx >= n) idx = period - idx;
        } else if (mode == kPadReflect) {
          idx = 0;
        } else {
          inside = false;
        }
      }
      src += idx * stride;
      stride *= n;
    }
    y[i] = inside ? x[src] : value;
  }
}

namespace {
// Calls f(i, offset) for every output index i of ys, offset = sum_k idx_k * src_stride[k] + base.
template <typename F>
void strided_loop(const Shape& ys, const std::vector<int64_t>& src_stride, int64_t base, F f) {
  const int64_t total = shape_numel(ys);
  const size_t r = ys.size();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < total; ++i) {
    int64_t rem = i, off = base;
    for (size_t k = r; k-- > 0;) {
      off += (rem % ys[k]) * src_stride[k];
      rem /= ys[k];
    }
    f(i, off);
  }
}

std::vector<int64_t> row_major_strides(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (size_t k = s.size(); k-- > 1;) st[k - 1] = st[k] * s[k];
  return st;
}
}  // namespace

void transpose_f32_ref(const Shape& xs, std::span<const int64_t> perm, const float* x,
                       float* y) noexcept {
  const auto xst = row_major_strides(xs);
  Shape ys(perm.size());
  std::vector<int64_t> st(perm.size());
  for (size_t k = 0; k < perm.size(); ++k) {
    ys[k] = xs[static_cast<size_t>(perm[k])];
    st[k] = xst[static_cast<size_t>(perm[k])];
  }
  strided_loop(ys, st, 0, [&](int64_t i, int64_t off) { y[i] = x[off]; });
}

void slice_f32_ref(const Shape& xs, std::span<const int64_t> starts, std::span<const int64_t> steps,
                   const Shape& ys, const float* x, float* y) noexcept {
  const auto xst = row_major_strides(xs);
  std::vector<int64_t> st(xs.size());
  int64_t base = 0;
  for (size_t k = 0; k < xs.size(); ++k) {
    st[k] = xst[k] * steps[k];
    base += starts[k] * xst[k];
  }
  strided_loop(ys, st, base, [&](int64_t i, int64_t off) { y[i] = x[off]; });
}

void concat_f32_ref(int64_t axis, std::span<const Shape> xs, std::span<const float* const> x,
                    const Shape& ys, float* y) noexcept {
  concat_loop(axis, xs, x, ys, y, [](size_t, float v) { return v; });
}

}  // namespace gammaq::kernels
