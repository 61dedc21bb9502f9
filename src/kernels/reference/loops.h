// The loops of the reference kernels, written once for every numeric type: the float kernels
// (double accumulation) and the integer kernels (int32/int64 accumulation) differ only in the
// element type, the accumulator and what they store (STYLE.md: reference math header-only).
// Threads: the batch and channel loops split over OpenMP; results do not depend on the count.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <span>

#include "kernels/kernels.h"

namespace gammaq::kernels {

// The input coordinate that tap k of output coordinate o reads, or -1 when it reads none: a
// convolution reads o * s - p + k * d; a transposed convolution (ConvTranspose, which scatters
// input i to i * s - p + k * d) reads (o + p - k * d) / s where that divides.
[[nodiscard]] inline int64_t window_input(bool transposed, int64_t o, int64_t k, int64_t s,
                                          int64_t p, int64_t d) noexcept {
  if (!transposed) return o * s - p + k * d;
  const int64_t t = o + p - k * d;
  return t >= 0 && t % s == 0 ? t / s : -1;
}

// Convolution (or, with g.transposed, ConvTranspose with its weight as [M, C/group, kh, kw]):
// for every output element, acc = init(m) + sum x * w over its window (zero padding
// contributes nothing), then store(index, m, acc).
template <typename Acc, typename T, typename W, typename Init, typename Store>
void conv2d_loop(const WindowGeom& g, const T* x, const W* w, Init init, Store store) {
  const int64_t cg = g.c / g.group;  // input channels per group
  const int64_t mg = g.m / g.group;  // output channels per group
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t n = 0; n < g.n; ++n) {
    for (int64_t m = 0; m < g.m; ++m) {
      const int64_t grp = m / mg;
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          Acc acc = init(m);
          for (int64_t c = 0; c < cg; ++c) {
            const T* xc = x + ((n * g.c) + grp * cg + c) * g.h * g.w;
            const W* wc = w + (m * cg + c) * g.kh * g.kw;
            for (int64_t ky = 0; ky < g.kh; ++ky) {
              const int64_t iy = window_input(g.transposed, oy, ky, g.sh, g.pt, g.dh);
              if (iy < 0 || iy >= g.h) continue;
              for (int64_t kx = 0; kx < g.kw; ++kx) {
                const int64_t ix = window_input(g.transposed, ox, kx, g.sw, g.pl, g.dw);
                if (ix < 0 || ix >= g.w) continue;
                acc += static_cast<Acc>(xc[iy * g.w + ix]) * static_cast<Acc>(wc[ky * g.kw + kx]);
              }
            }
          }
          store(((n * g.m + m) * g.oh + oy) * g.ow + ox, m, acc);
        }
      }
    }
  }
}

// Fully connected: acc = init(o) + sum_j x[i, j] w[o, j]; store(i * out + o, o, acc).
template <typename Acc, typename T, typename W, typename Init, typename Store>
void gemm_loop(int64_t n, int64_t k, int64_t out, const T* x, const W* w, Init init, Store store) {
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t o = 0; o < out; ++o) {
      Acc acc = init(o);
      for (int64_t j = 0; j < k; ++j)
        acc += static_cast<Acc>(x[i * k + j]) * static_cast<Acc>(w[o * k + j]);
      store(i * out + o, o, acc);
    }
  }
}

// Max pooling (padding never wins).
template <typename T>
void maxpool2d_loop(const WindowGeom& g, const T* x, T* y) {
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t n = 0; n < g.n; ++n) {
    for (int64_t c = 0; c < g.c; ++c) {
      const T* xc = x + (n * g.c + c) * g.h * g.w;
      T* yc = y + (n * g.c + c) * g.oh * g.ow;
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          T best = std::numeric_limits<T>::lowest();
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

// Average pooling: store(index, sum, count) with the window's sum and divisor. With
// count_include_pad, explicit padding counts but the ceil_mode overhang past the padded input
// does not (ONNX Runtime's rule).
template <typename Acc, typename T, typename Store>
void avgpool2d_loop(const WindowGeom& g, bool count_include_pad, const T* x, Store store) {
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t n = 0; n < g.n; ++n) {
    for (int64_t c = 0; c < g.c; ++c) {
      const T* xc = x + (n * g.c + c) * g.h * g.w;
      const int64_t base = (n * g.c + c) * g.oh * g.ow;
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          Acc sum = 0;
          int64_t count = 0;
          for (int64_t ky = 0; ky < g.kh; ++ky) {
            const int64_t iy = oy * g.sh - g.pt + ky;
            if (iy >= g.h + g.pb) break;
            for (int64_t kx = 0; kx < g.kw; ++kx) {
              const int64_t ix = ox * g.sw - g.pl + kx;
              if (ix >= g.w + g.pr) break;
              const bool inside = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w;
              if (inside) sum += static_cast<Acc>(xc[iy * g.w + ix]);
              if (inside || count_include_pad) ++count;
            }
          }
          store(base + oy * g.ow + ox, sum, count);
        }
      }
    }
  }
}

// Global average pooling over hw values per (image, channel): store(i, sum, hw).
template <typename Acc, typename T, typename Store>
void global_avgpool_loop(int64_t n, int64_t c, int64_t hw, const T* x, Store store) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n * c; ++i) {
    Acc sum = 0;
    for (int64_t j = 0; j < hw; ++j) sum += static_cast<Acc>(x[i * hw + j]);
    store(i, sum, hw);
  }
}

// LRN across channels: store(index, sum of squares over the ONNX window) -- floor((size-1)/2)
// channels before, the rest after.
template <typename Acc, typename T, typename Store>
void lrn_loop(int64_t n, int64_t c, int64_t hw, int64_t size, const T* x, Store store) {
  const int64_t before = (size - 1) / 2;
  const int64_t after = size - 1 - before;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t ch = 0; ch < c; ++ch) {
      for (int64_t p = 0; p < hw; ++p) {
        Acc sq = 0;
        for (int64_t k = std::max<int64_t>(0, ch - before); k <= std::min(c - 1, ch + after); ++k) {
          const Acc v = static_cast<Acc>(x[(i * c + k) * hw + p]);
          sq += v * v;
        }
        store((i * c + ch) * hw + p, sq);
      }
    }
  }
}

// Concatenation along `axis`: y's slice from input t holds convert(t, value) of its values.
template <typename T, typename U, typename Convert>
void concat_loop(int64_t axis, std::span<const Shape> xs, std::span<const T* const> x,
                 const Shape& ys, U* y, Convert convert) {
  int64_t outer = 1, inner = 1;
  for (int64_t k = 0; k < axis; ++k) outer *= ys[static_cast<size_t>(k)];
  for (size_t k = static_cast<size_t>(axis) + 1; k < ys.size(); ++k) inner *= ys[k];
  const int64_t ychunk = ys[static_cast<size_t>(axis)] * inner;
  int64_t offset = 0;
  for (size_t t = 0; t < xs.size(); ++t) {
    const int64_t chunk = xs[t][static_cast<size_t>(axis)] * inner;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < chunk; ++i)
        y[o * ychunk + offset + i] = convert(t, x[t][o * chunk + i]);
    offset += chunk;
  }
}

}  // namespace gammaq::kernels
