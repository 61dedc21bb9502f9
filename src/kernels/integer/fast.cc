// Faster integer kernels, the same integers as the *_int_ref ones (tested equal):
// convolution as im2col + a rank-1-update GEMM whose inner loop runs over output pixels and
// vectorises (AVX2 clone where the CPU has it); max pooling and Concat as vectorisable row
// operations; LRN with its multipliers from a table.
#include <algorithm>
#include <limits>
#include <vector>

#include "kernels/integer/integer.h"
#include "kernels/reference/loops.h"

namespace gammaq::kernels {
namespace {

// acc[p] += w * col[p] for p < count. One body, two non-template entry points: clang does not
// multiversion templates, and each clone inlines the body under its own target.
template <typename Acc>
[[gnu::always_inline]] inline void axpy_body(Acc* acc, int32_t w, const int32_t* col,
                                             int64_t count) noexcept {
  for (int64_t p = 0; p < count; ++p) acc[p] += static_cast<Acc>(w) * static_cast<Acc>(col[p]);
}
__attribute__((target_clones("avx2", "default"))) void axpy(int32_t* acc, int32_t w,
                                                            const int32_t* col,
                                                            int64_t count) noexcept {
  axpy_body(acc, w, col, count);
}
__attribute__((target_clones("avx2", "default"))) void axpy(int64_t* acc, int32_t w,
                                                            const int32_t* col,
                                                            int64_t count) noexcept {
  axpy_body(acc, w, col, count);
}

// row[i] = max(row[i], x[i]) and dst[i] = clamp(src[i], lo, hi): vectorised with AVX2's
// pmaxsd/pminsd where the CPU has them (the x86-64 baseline has no 32-bit integer max).
__attribute__((target_clones("avx2", "default"))) void row_max(int32_t* row, const int32_t* x,
                                                               int64_t count) noexcept {
  for (int64_t i = 0; i < count; ++i) row[i] = std::max(row[i], x[i]);
}
__attribute__((target_clones("avx2", "default"))) void clamp_copy(int32_t* dst, const int32_t* src,
                                                                  int64_t count, int32_t lo,
                                                                  int32_t hi) noexcept {
  for (int64_t i = 0; i < count; ++i) dst[i] = std::clamp(src[i], lo, hi);
}

template <typename Acc>
void conv_im2col(const WindowGeom& g, const int32_t* x, const int32_t* w, const int64_t* bias,
                 const OutputStage& stage, int32_t* y) {
  const int64_t cg = g.c / g.group, mg = g.m / g.group;
  const int64_t k_size = cg * g.kh * g.kw, pixels = g.oh * g.ow;
#pragma omp parallel
  {
    std::vector<int32_t> col(static_cast<size_t>(k_size * pixels));
    std::vector<Acc> acc(static_cast<size_t>(pixels));
#pragma omp for collapse(2) schedule(static)
    for (int64_t n = 0; n < g.n; ++n) {
      for (int64_t grp = 0; grp < g.group; ++grp) {
        // col[k][p]: the input under tap k of output pixel p (0 in the padding).
        for (int64_t c = 0; c < cg; ++c) {
          const int32_t* xc = x + (n * g.c + grp * cg + c) * g.h * g.w;
          for (int64_t ky = 0; ky < g.kh; ++ky)
            for (int64_t kx = 0; kx < g.kw; ++kx) {
              int32_t* row = col.data() + ((c * g.kh + ky) * g.kw + kx) * pixels;
              for (int64_t oy = 0; oy < g.oh; ++oy) {
                const int64_t iy = oy * g.sh - g.pt + ky * g.dh;
                for (int64_t ox = 0; ox < g.ow; ++ox) {
                  const int64_t ix = ox * g.sw - g.pl + kx * g.dw;
                  row[oy * g.ow + ox] =
                      iy >= 0 && iy < g.h && ix >= 0 && ix < g.w ? xc[iy * g.w + ix] : 0;
                }
              }
            }
        }
        for (int64_t mm = 0; mm < mg; ++mm) {
          const int64_t m = grp * mg + mm;
          std::fill(acc.begin(), acc.end(), static_cast<Acc>(bias ? bias[m] : 0));
          const int32_t* wm = w + m * k_size;
          for (int64_t k = 0; k < k_size; ++k)
            if (wm[k] != 0) axpy(acc.data(), wm[k], col.data() + k * pixels, pixels);
          int32_t* ym = y + (n * g.m + m) * pixels;
          for (int64_t p = 0; p < pixels; ++p) ym[p] = stage.apply(acc[static_cast<size_t>(p)], m);
        }
      }
    }
  }
}

}  // namespace

void conv2d_int(const WindowGeom& g, const int32_t* x, const int32_t* w, const int64_t* bias,
                const OutputStage& stage, bool wide, int32_t* y) noexcept {
  if (wide)
    conv_im2col<int64_t>(g, x, w, bias, stage, y);
  else
    conv_im2col<int32_t>(g, x, w, bias, stage, y);
}

void maxpool2d_int(const WindowGeom& g, const int32_t* x, const OutputStage& stage,
                   int32_t* y) noexcept {
  // Per tap column kx, the output columns whose input column is inside: [c0, c1). The max then
  // runs as whole-row operations (contiguous for stride 1, so they vectorise). An empty
  // window (possible with ceil_mode) leaves INT32_MIN, which the stage saturates, as in the
  // reference.
  std::vector<int64_t> c0(static_cast<size_t>(g.kw)), c1(static_cast<size_t>(g.kw));
  for (int64_t kx = 0; kx < g.kw; ++kx) {
    int64_t lo = g.ow, hi = 0;
    for (int64_t ox = 0; ox < g.ow; ++ox) {
      const int64_t ix = ox * g.sw - g.pl + kx * g.dw;
      if (ix >= 0 && ix < g.w) lo = std::min(lo, ox), hi = ox + 1;
    }
    c0[static_cast<size_t>(kx)] = lo, c1[static_cast<size_t>(kx)] = std::max(lo, hi);
  }
  const bool clamp_only = stage.shift.size() == 1 && stage.shift[0] == 0 && !stage.out.table;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t c = 0; c < g.c; ++c) {
      const int32_t* xc = x + (n * g.c + c) * g.h * g.w;
      int32_t* yc = y + (n * g.c + c) * g.oh * g.ow;
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        int32_t* row = yc + oy * g.ow;
        std::fill(row, row + g.ow, std::numeric_limits<int32_t>::min());
        for (int64_t ky = 0; ky < g.kh; ++ky) {
          const int64_t iy = oy * g.sh - g.pt + ky * g.dh;
          if (iy < 0 || iy >= g.h) continue;
          for (int64_t kx = 0; kx < g.kw; ++kx) {
            const int32_t* xr = xc + iy * g.w - g.pl + kx * g.dw;
            const int64_t lo = c0[static_cast<size_t>(kx)], hi = c1[static_cast<size_t>(kx)];
            if (g.sw == 1)
              row_max(row + lo, xr + lo, hi - lo);
            else
              for (int64_t ox = lo; ox < hi; ++ox) row[ox] = std::max(row[ox], xr[ox * g.sw]);
          }
        }
        if (clamp_only) {
          clamp_copy(row, row, g.ow, static_cast<int32_t>(stage.lo),
                     static_cast<int32_t>(stage.hi));
        } else {
          for (int64_t ox = 0; ox < g.ow; ++ox) row[ox] = stage.apply(row[ox], 0);
        }
      }
    }
}

void concat_int(int64_t axis, std::span<const Shape> xs, std::span<const int32_t* const> x,
                std::span<const OutputStage> stages, const Shape& ys, int32_t* y) noexcept {
  int64_t outer = 1, inner = 1;
  for (int64_t k = 0; k < axis; ++k) outer *= ys[static_cast<size_t>(k)];
  for (size_t k = static_cast<size_t>(axis) + 1; k < ys.size(); ++k) inner *= ys[k];
  const int64_t ychunk = ys[static_cast<size_t>(axis)] * inner;
  std::vector<int64_t> offset(xs.size() + 1, 0);
  for (size_t t = 0; t < xs.size(); ++t)
    offset[t + 1] = offset[t] + xs[t][static_cast<size_t>(axis)] * inner;
  const auto inputs = static_cast<int64_t>(xs.size());
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t t = 0; t < inputs; ++t) {
      const auto ti = static_cast<size_t>(t);
      const int64_t chunk = offset[ti + 1] - offset[ti];
      const int32_t* src = x[ti] + o * chunk;
      int32_t* dst = y + o * ychunk + offset[ti];
      const OutputStage& st = stages[ti];
      if (st.shift.size() == 1 && st.shift[0] == 0 && !st.out.table) {
        clamp_copy(dst, src, chunk, static_cast<int32_t>(st.lo), static_cast<int32_t>(st.hi));
      } else {
        for (int64_t i = 0; i < chunk; ++i) dst[i] = st.apply(src[i], 0);
      }
    }
}

LrnTable::LrnTable(const Attributes& a, int in_frac, int64_t max_abs_input) {
  const int64_t max_sq = a.size * max_abs_input * max_abs_input;
  if (max_sq >= kMaxEntries) return;
  multiplier.resize(static_cast<size_t>(max_sq + 1));
  for (int64_t sq = 0; sq <= max_sq; ++sq)
    multiplier[static_cast<size_t>(sq)] = lrn_multiplier(sq, a, in_frac);
}

void lrn_int(int64_t n, int64_t c, int64_t hw, const Attributes& a, int in_frac,
             const LrnTable& table, const int32_t* x, const OutputStage& stage,
             int32_t* y) noexcept {
  if (table.multiplier.empty()) return lrn_int_ref(n, c, hw, a, in_frac, x, stage, y);
  lrn_loop<int64_t>(n, c, hw, a.size, x, [&](int64_t i, int64_t sq) {
    y[i] = stage.apply(static_cast<int64_t>(x[i]) * table.multiplier[static_cast<size_t>(sq)], 0);
  });
}

void gemm_int(int64_t n, int64_t k, int64_t out, const int32_t* x, const int32_t* w,
              const int64_t* bias, const OutputStage& stage, bool wide, int32_t* y) noexcept {
  // A 1x1 convolution over n "pixels" would need x transposed; the layer is small, so the
  // reference loop (exact, per output) serves.
  gemm_int_ref(n, k, out, x, w, bias, stage, wide, y);
}

}  // namespace gammaq::kernels
