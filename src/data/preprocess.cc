// Preprocessing of raw images (idx, folder, fashion-mnist), in this order, in float:
//
// 1. Channels. A gray source to rgb/bgr is replicated; an RGB source to gray is the ITU-R
//    BT.601 luma  Y = 0.299 R + 0.587 G + 0.114 B  (not rounded to an integer); bgr is rgb
//    with the first and last planes swapped. Output is planar (C x H x W).
// 2. Resize, only where pre.height/width are non-zero and differ from the image's size:
//    bilinear with half-pixel centers, exactly OpenCV's INTER_LINEAR without antialiasing:
//      sx = (dx + 0.5) * in_w / out_w - 0.5;  x0 = floor(sx);  fx = sx - x0;
//      if x0 < 0:          x0 = 0,        fx = 0
//      if x0 >= in_w - 1:  x0 = in_w - 1, fx = 0      (x1 = x0 + 1 where fx > 0)
//      out = (1-fy)((1-fx) p[y0][x0] + fx p[y0][x1]) + fy((1-fx) p[y1][x0] + fx p[y1][x1])
//    computed on float pixels (OpenCV rounds to uint8 in between; we do not). Downscaling
//    samples without averaging, as OpenCV does (no antialias, unlike PIL/torchvision).
//    A dimension left 0 keeps the dataset's own size, and then every image must have it.
//    Before it, with pre.resize, the shorter side is resized to pre.resize by the same
//    bilinear rule (the longer side floor(long * resize / short), as torchvision's
//    Resize(int)), and with a crop the centre crop_h x crop_w is cut out (top and left
//    round((size - crop) / 2), as torchvision's CenterCrop); the crop is then the output
//    size unless pre.height/width are set.
// 3. Normalize: x = (pixel * scale - mean[c]) / std[c] in double, stored as float; mean and
//    std hold one value (every channel) or one per output channel.
#include <algorithm>
#include <cmath>
#include <utility>

#include "data/readers.h"
#include "gammaq/error.h"

namespace gammaq::data {
namespace {

[[noreturn]] void bad_pre(std::string_view what) {
  throw Error(ErrorKind::InvalidOption, str_cat("preprocess: ", what));
}

std::string_view channels_name(Channels c) {
  switch (c) {
    case Channels::Gray: return "gray";
    case Channels::Rgb: return "rgb";
    case Channels::Bgr: return "bgr";
  }
  return "?";
}

// One axis of the resize: source index and weight of the next sample, per output index.
struct AxisTaps {
  std::vector<int64_t> i0;
  std::vector<float> frac;
};

AxisTaps axis_taps(int64_t in, int64_t out) {
  AxisTaps t;
  t.i0.resize(static_cast<size_t>(out));
  t.frac.resize(static_cast<size_t>(out));
  const double scale = static_cast<double>(in) / static_cast<double>(out);
  for (int64_t d = 0; d < out; ++d) {
    // OpenCV computes this coordinate in float; so do we, for identical weights.
    float s = static_cast<float>((static_cast<double>(d) + 0.5) * scale - 0.5);
    auto i = static_cast<int64_t>(std::floor(s));
    float f = s - static_cast<float>(i);
    if (i < 0) {
      i = 0;
      f = 0.0f;
    }
    if (i >= in - 1) {
      i = in - 1;
      f = 0.0f;
    }
    t.i0[static_cast<size_t>(d)] = i;
    t.frac[static_cast<size_t>(d)] = f;
  }
  return t;
}

}  // namespace

int64_t channel_count(Channels channels) noexcept { return channels == Channels::Gray ? 1 : 3; }

void validate_preprocess(const Preprocess& pre) {
  const int64_t c = channel_count(pre.channels);
  if (!std::isfinite(pre.scale) || pre.scale <= 0) {
    bad_pre(str_cat("scale is ", pre.scale, ": must be a finite positive number"));
  }
  auto check_list = [&](const std::vector<float>& v, std::string_view name, bool positive) {
    if (v.size() != 1 && static_cast<int64_t>(v.size()) != c) {
      bad_pre(str_cat(name, " has ", v.size(), " values: expected 1", c > 1 ? " or 3" : "",
                      " (channels ", channels_name(pre.channels), ")"));
    }
    for (size_t i = 0; i < v.size(); ++i) {
      if (!std::isfinite(v[i]) || (positive && !(v[i] > 0))) {
        bad_pre(str_cat(name, "[", i, "] is ", v[i], ": must be a finite",
                        positive ? " positive" : "", " number"));
      }
    }
  };
  check_list(pre.mean, "mean", false);
  check_list(pre.std, "std", true);
  if (pre.height < 0 || pre.height > kMaxImageSide || pre.width < 0 || pre.width > kMaxImageSide) {
    bad_pre(str_cat("size ", pre.height, "x", pre.width, ": each must be in [0, ", kMaxImageSide,
                    "] (0 keeps the image's size)"));
  }
  if (pre.resize < 0 || pre.resize > kMaxImageSide || pre.crop_h < 0 ||
      pre.crop_h > kMaxImageSide || pre.crop_w < 0 || pre.crop_w > kMaxImageSide ||
      (pre.crop_h > 0) != (pre.crop_w > 0)) {
    bad_pre(str_cat("resize ", pre.resize, ", crop ", pre.crop_h, "x", pre.crop_w,
                    ": each must be in [1, ", kMaxImageSide, "] (0: none)"));
  }
  if (c * pre.height * pre.width > kMaxImagePixels) {
    bad_pre(str_cat("size ", pre.height, "x", pre.width, ": more than ", kMaxImagePixels,
                    " values per image"));
  }
}

void resize_bilinear(std::span<const float> in, int64_t channels, int64_t ih, int64_t iw,
                     std::span<float> out, int64_t oh, int64_t ow) {
  GAMMAQ_CHECK(channels > 0 && ih > 0 && iw > 0 && oh > 0 && ow > 0, channels, ih, iw, oh, ow);
  GAMMAQ_CHECK(static_cast<int64_t>(in.size()) == channels * ih * iw, in.size());
  GAMMAQ_CHECK(static_cast<int64_t>(out.size()) == channels * oh * ow, out.size());
  const AxisTaps ys = axis_taps(ih, oh);
  const AxisTaps xs = axis_taps(iw, ow);
  for (int64_t c = 0; c < channels; ++c) {
    const float* plane = in.data() + c * ih * iw;
    float* dst = out.data() + c * oh * ow;
    for (int64_t y = 0; y < oh; ++y) {
      const int64_t y0 = ys.i0[static_cast<size_t>(y)];
      const float fy = ys.frac[static_cast<size_t>(y)];
      const float* r0 = plane + y0 * iw;
      const float* r1 = fy > 0 ? r0 + iw : r0;
      for (int64_t x = 0; x < ow; ++x) {
        const int64_t x0 = xs.i0[static_cast<size_t>(x)];
        const float fx = xs.frac[static_cast<size_t>(x)];
        const int64_t x1 = fx > 0 ? x0 + 1 : x0;
        const float top = (1 - fx) * r0[x0] + fx * r0[x1];
        const float bottom = (1 - fx) * r1[x0] + fx * r1[x1];
        dst[y * ow + x] = (1 - fy) * top + fy * bottom;
      }
    }
  }
}

namespace {

// The size of an h x w image after the shorter side is resized to r (torchvision's
// Resize(int): the longer side floor(long * r / short)).
std::pair<int64_t, int64_t> shorter_side_to(int64_t h, int64_t w, int64_t r) {
  if (h <= w) return {r, std::max<int64_t>(1, w * r / h)};
  return {std::max<int64_t>(1, h * r / w), r};
}

}  // namespace

Preprocessor::Preprocessor(const Preprocess& pre, int64_t native_h, int64_t native_w)
    : pre_(pre), channels_(channel_count(pre.channels)) {
  validate_preprocess(pre);
  // The output size: the asked size, else the crop, else the (resized) first image's.
  auto [h, w] = pre.resize > 0 ? shorter_side_to(native_h, native_w, pre.resize)
                               : std::pair<int64_t, int64_t>{native_h, native_w};
  if (pre.crop_h > 0) h = pre.crop_h, w = pre.crop_w;
  height_ = pre.height != 0 ? pre.height : h;
  width_ = pre.width != 0 ? pre.width : w;
  if (channels_ * height_ * width_ > kMaxImagePixels) {
    bad_pre(str_cat("images of ", channels_, "x", height_, "x", width_, ": more than ",
                    kMaxImagePixels, " values per image"));
  }
}

void Preprocessor::apply(const RawImage& image, std::string_view where,
                         std::span<float> out) const {
  GAMMAQ_CHECK(static_cast<int64_t>(out.size()) == channels_ * height_ * width_, out.size());
  GAMMAQ_CHECK(image.channels == 1 || image.channels == 3, image.channels);
  int64_t h = image.height;
  int64_t w = image.width;
  // 1. Planar float pixels in the output channel order.
  const int64_t hw = h * w;
  std::vector<float> planes(static_cast<size_t>(channels_ * hw));
  const uint8_t* px = image.pixels.data();
  const int64_t ic = image.channels;
  for (int64_t i = 0; i < hw; ++i) {
    if (channels_ == 1) {
      planes[static_cast<size_t>(i)] =
          ic == 1 ? px[i]
                  : static_cast<float>(0.299 * px[3 * i] + 0.587 * px[3 * i + 1] +
                                       0.114 * px[3 * i + 2]);
    } else {
      const bool bgr = pre_.channels == Channels::Bgr;
      for (int64_t c = 0; c < 3; ++c) {
        const int64_t src_c = ic == 1 ? 0 : (bgr ? 2 - c : c);
        planes[static_cast<size_t>(c * hw + i)] = px[ic * i + src_c];
      }
    }
  }
  // 2. The shorter side to pre.resize, then the centre crop.
  if (pre_.resize > 0) {
    const auto [rh, rw] = shorter_side_to(h, w, pre_.resize);
    if (rh != h || rw != w) {
      std::vector<float> r(static_cast<size_t>(channels_ * rh * rw));
      resize_bilinear(planes, channels_, h, w, r, rh, rw);
      planes = std::move(r);
      h = rh, w = rw;
    }
  }
  if (pre_.crop_h > 0) {
    if (h < pre_.crop_h || w < pre_.crop_w)
      throw Error(ErrorKind::InvalidData,
                  str_cat(where, ": image is ", h, "x", w, pre_.resize > 0 ? " after --resize" : "",
                          ", smaller than the crop ", pre_.crop_h, "x", pre_.crop_w));
    // torchvision's CenterCrop: top = round((h - crop) / 2), halves to even.
    const auto top = static_cast<int64_t>(std::nearbyint((h - pre_.crop_h) / 2.0));
    const auto left = static_cast<int64_t>(std::nearbyint((w - pre_.crop_w) / 2.0));
    std::vector<float> c(static_cast<size_t>(channels_ * pre_.crop_h * pre_.crop_w));
    for (int64_t ch = 0; ch < channels_; ++ch)
      for (int64_t y = 0; y < pre_.crop_h; ++y)
        std::copy_n(planes.begin() + (ch * h + top + y) * w + left, pre_.crop_w,
                    c.begin() + (ch * pre_.crop_h + y) * pre_.crop_w);
    planes = std::move(c);
    h = pre_.crop_h, w = pre_.crop_w;
  }
  if ((pre_.height == 0 && h != height_) || (pre_.width == 0 && w != width_)) {
    throw Error(ErrorKind::InvalidData,
                str_cat(where, ": image is ", h, "x", w, ", expected ", height_, "x", width_,
                        " like the first image; set a preprocess size to resize, or a crop"));
  }
  // 3. Resize to the output size.
  std::vector<float> resized;
  const std::vector<float>* src = &planes;
  if (h != height_ || w != width_) {
    resized.resize(out.size());
    resize_bilinear(planes, channels_, h, w, resized, height_, width_);
    src = &resized;
  }
  // 4. Normalize.
  const int64_t ohw = height_ * width_;
  for (int64_t c = 0; c < channels_; ++c) {
    const double mean = pre_.mean.size() == 1 ? pre_.mean[0] : pre_.mean[static_cast<size_t>(c)];
    const double sd = pre_.std.size() == 1 ? pre_.std[0] : pre_.std[static_cast<size_t>(c)];
    for (int64_t i = 0; i < ohw; ++i) {
      const double p = (*src)[static_cast<size_t>(c * ohw + i)];
      out[static_cast<size_t>(c * ohw + i)] = static_cast<float>((p * pre_.scale - mean) / sd);
    }
  }
}

}  // namespace gammaq::data
