// Resize (ONNX Resize and Upsample) of H and W, nearest and linear: the definition the fast
// path and the QDQ export are checked against.
#include <algorithm>
#include <cmath>

#include "kernels/kernels.h"

namespace gammaq::kernels {
namespace {

// x_original of output coordinate o (ONNX coordinate_transformation_mode), in float as ONNX
// Runtime computes it.
float original_coordinate(int mode, int64_t o, float scale, int64_t in, int64_t out) {
  const float x = static_cast<float>(o);
  switch (mode) {
    case kCoordHalfPixel: return (x + 0.5f) / scale - 0.5f;
    case kCoordPytorchHalfPixel: return out > 1 ? (x + 0.5f) / scale - 0.5f : 0.0f;
    case kCoordAlignCorners:
      return out == 1 ? 0.0f : x * static_cast<float>(in - 1) / static_cast<float>(out - 1);
    case kCoordAsymmetric: return x / scale;
    case kCoordTfHalfPixelForNearest: return (x + 0.5f) / scale;
  }
  return 0.0f;
}

int64_t nearest_index(int mode, float x) {
  switch (mode) {
    case kNearestRoundPreferFloor:
      // A tie (k + 0.5) goes down; everything else to the nearest integer.
      if (x == static_cast<float>(static_cast<int64_t>(x)) + 0.5f)
        return static_cast<int64_t>(std::floor(x));
      return static_cast<int64_t>(std::round(x));
    case kNearestRoundPreferCeil: return static_cast<int64_t>(std::round(x));
    case kNearestFloor: return static_cast<int64_t>(std::floor(x));
    case kNearestCeil: return static_cast<int64_t>(std::ceil(x));
  }
  return 0;
}

}  // namespace

ResizeAxis resize_axis(const Attributes& a, int axis, int64_t in, int64_t out) {
  ResizeAxis r;
  r.i0.resize(static_cast<size_t>(out));
  r.i1.resize(static_cast<size_t>(out));
  r.w1.assign(static_cast<size_t>(out), 0.0f);
  const float scale = a.scales[static_cast<size_t>(axis)];
  for (int64_t o = 0; o < out; ++o) {
    const float x = original_coordinate(a.coord_mode, o, scale, in, out);
    const auto k = static_cast<size_t>(o);
    if (a.resize_mode == kResizeNearest) {
      r.i0[k] = r.i1[k] = std::clamp<int64_t>(nearest_index(a.nearest_mode, x), 0, in - 1);
      continue;
    }
    const float c = std::clamp(x, 0.0f, static_cast<float>(in - 1));
    r.i0[k] = std::min(static_cast<int64_t>(c), in - 1);
    r.i1[k] = std::min(r.i0[k] + 1, in - 1);
    r.w1[k] = r.i1[k] == r.i0[k] ? 0.0f : c - static_cast<float>(r.i0[k]);
  }
  return r;
}

void resize_f32_ref(const Attributes& a, const Shape& xs, const Shape& ys, const float* x,
                    float* y) {
  const int64_t planes = xs[0] * xs[1], ih = xs[2], iw = xs[3], oh = ys[2], ow = ys[3];
  const ResizeAxis rh = resize_axis(a, 0, ih, oh), rw = resize_axis(a, 1, iw, ow);
  for (int64_t p = 0; p < planes; ++p) {
    const float* xp = x + p * ih * iw;
    float* yp = y + p * oh * ow;
    for (int64_t i = 0; i < oh; ++i) {
      const auto ki = static_cast<size_t>(i);
      const float* r0 = xp + rh.i0[ki] * iw;
      const float* r1 = xp + rh.i1[ki] * iw;
      const float wy = rh.w1[ki];
      for (int64_t j = 0; j < ow; ++j) {
        const auto kj = static_cast<size_t>(j);
        const int64_t j0 = rw.i0[kj], j1 = rw.i1[kj];
        const float wx = rw.w1[kj];
        if (a.resize_mode == kResizeNearest) {
          yp[i * ow + j] = r0[j0];
          continue;
        }
        const float top = r0[j0] * (1.0f - wx) + r0[j1] * wx;
        const float bottom = r1[j0] * (1.0f - wx) + r1[j1] * wx;
        yp[i * ow + j] = top * (1.0f - wy) + bottom * wy;
      }
    }
  }
}

}  // namespace gammaq::kernels
