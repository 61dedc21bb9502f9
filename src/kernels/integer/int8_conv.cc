#include "kernels/integer/int8_conv.h"

#include <algorithm>
#include <limits>
#include <oneapi/dnnl/dnnl.hpp>
#include <vector>

#include "gammaq/error.h"
#include "kernels/reference/loops.h"

namespace gammaq::kernels {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

// oneDNN kernels that add int8 products without an int16 intermediate: VNNI / AMX, and the
// reference implementations (plain int32 loops).
bool adds_in_int32(const std::string& impl) {
  return impl.find("vnni") != std::string::npos || impl.find("amx") != std::string::npos ||
         impl.rfind("ref", 0) == 0;
}

constexpr int64_t kInt16Max = 32767;

// v * 2^-s rounded, 1 <= s <= 31, in int32 (vectorises with AVX2's 32-bit shifts).
template <int kRounding>
[[gnu::always_inline]] inline int32_t round_shift(int32_t v, int s) noexcept {
  const int32_t t = v >> s;
  const int32_t r = v & static_cast<int32_t>((uint32_t{1} << s) - 1);
  const int32_t h = static_cast<int32_t>(uint32_t{1} << (s - 1));
  bool up;
  if constexpr (kRounding == 0)
    up = r > h || (r == h && (t & 1) != 0);  // HalfEven
  else if constexpr (kRounding == 1)
    up = r > h || (r == h && v >= 0);  // HalfAway
  else
    up = r >= h;  // HalfUp
  return t + (up ? 1 : 0);
}

// One output channel's accumulators: acc (or 2 acc + acc_lo, split weights) - corr + bias.
// Each term is below 2^26 in magnitude (2^24 per pass, 2^25 for corr) and the sum is the layer's
// accumulator, which the program proved fits int32, so int32 arithmetic in this order cannot
// overflow (bias is added last; the caller checks it fits int32).
struct Plane {
  const int32_t* acc;
  const int32_t* acc_lo;  // null: weights not split
  const int32_t* corr;    // null: unsigned source
  int64_t bias;
  [[nodiscard]] int64_t at(int64_t p) const noexcept {
    int64_t v = acc_lo ? 2 * int64_t{acc[p]} + acc_lo[p] : int64_t{acc[p]};
    if (corr) v -= corr[p];
    return v + bias;
  }
};

template <int kRounding, bool kSplit, bool kCorr>
[[gnu::always_inline]] inline void shift_plane(const Plane& a, int64_t count, int s, int64_t lo,
                                               int64_t hi, int32_t* y) noexcept {
  const auto b = static_cast<int32_t>(a.bias);
  const auto lo32 = static_cast<int32_t>(lo), hi32 = static_cast<int32_t>(hi);
  for (int64_t p = 0; p < count; ++p) {
    int32_t v = kSplit ? 2 * a.acc[p] + a.acc_lo[p] : a.acc[p];
    if constexpr (kCorr) v -= a.corr[p];
    const int32_t q = round_shift<kRounding>(v + b, s);
    y[p] = q < lo32 ? lo32 : (q > hi32 ? hi32 : q);
  }
}

template <int kRounding>
[[gnu::always_inline]] inline void shift_plane(const Plane& a, int64_t count, int s, int64_t lo,
                                               int64_t hi, int32_t* y) noexcept {
  if (a.acc_lo)
    a.corr ? shift_plane<kRounding, true, true>(a, count, s, lo, hi, y)
           : shift_plane<kRounding, true, false>(a, count, s, lo, hi, y);
  else
    a.corr ? shift_plane<kRounding, false, true>(a, count, s, lo, hi, y)
           : shift_plane<kRounding, false, false>(a, count, s, lo, hi, y);
}

// One non-template entry point, cloned for AVX2 (32-bit shifts, min/max) where the CPU has it.
__attribute__((target_clones("avx2", "default"))) void shift_plane_any(const Plane& a,
                                                                       int64_t count, int s,
                                                                       int64_t lo, int64_t hi,
                                                                       quant::Rounding rounding,
                                                                       int32_t* y) noexcept {
  switch (rounding) {
    case quant::Rounding::HalfEven: return shift_plane<0>(a, count, s, lo, hi, y);
    case quant::Rounding::HalfAway: return shift_plane<1>(a, count, s, lo, hi, y);
    case quant::Rounding::HalfUp: return shift_plane<2>(a, count, s, lo, hi, y);
  }
}

void requantize_plane(const Plane& a, int64_t count, const OutputStage& stage, int64_t channel,
                      int32_t* y) noexcept {
  const int s = stage.shift_of(channel);
  // Shifts of 1..31 with an int32 bias and int32 bounds run in int32; the rest take the
  // general path.
  constexpr int64_t kMin = std::numeric_limits<int32_t>::min(),
                    kMax = std::numeric_limits<int32_t>::max();
  if (!stage.out.table && s >= 1 && s <= 31 && a.bias >= kMin && a.bias <= kMax &&
      stage.lo >= kMin && stage.hi <= kMax) {
    return shift_plane_any(a, count, s, stage.lo, stage.hi, stage.rounding, y);
  }
  for (int64_t p = 0; p < count; ++p) y[p] = stage.apply(a.at(p), channel);
}

}  // namespace

bool int8_conv_applies(const quant::Format& input, const quant::Format& weight,
                       bool wide) noexcept {
  return !wide && input.bits <= 8 && weight.bits <= 8 && weight.is_signed;
}

struct Int8Conv::Impl {
  WindowGeom g;
  // Signed sources run as u = x + offset in u8 (oneDNN's own s8 sources go wrong at padded
  // borders in 2.6); the accumulator is corrected by offset * (sum of the weights under the
  // in-bounds taps), which depends only on the position: corr[m][oy][ox].
  int32_t offset = 0;
  std::vector<int32_t> corr;
  std::vector<int64_t> bias;  // per output channel (zeros when the layer has none)
  dnnl::stream stream{engine()};
  std::vector<uint8_t> src_bytes;  // u8 NCHW
  memory src_user, src;            // src_bytes as a memory, and the primitive's layout
  struct Pass {
    dnnl::convolution_forward conv;
    memory weights, dst, dst_plain;
  };
  std::vector<Pass> passes;  // one, or two for split weights (hi, lo)
  std::string description;

  memory::dims weight_dims() const {
    return g.group == 1 ? memory::dims{g.m, g.c, g.kh, g.kw}
                        : memory::dims{g.group, g.m / g.group, g.c / g.group, g.kh, g.kw};
  }

  dnnl::convolution_forward::primitive_desc make_pd() const {
    const memory::desc s({g.n, g.c, g.h, g.w}, dt::u8, tag::any);
    const memory::desc w(weight_dims(), dt::s8, tag::any);
    const memory::desc d({g.n, g.m, g.oh, g.ow}, dt::s32, tag::any);
    const dnnl::convolution_forward::desc desc(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, s, w, d,
        {g.sh, g.sw}, {g.dh - 1, g.dw - 1}, {g.pt, g.pl}, {g.pb, g.pr});
    return {desc, engine()};
  }

  void add_pass(const dnnl::convolution_forward::primitive_desc& pd,
                const std::vector<int8_t>& codes) {
    Pass p;
    p.conv = dnnl::convolution_forward(pd);
    const memory::desc w_user(weight_dims(), dt::s8, g.group == 1 ? tag::oihw : tag::goihw);
    memory user(w_user, engine(), const_cast<int8_t*>(codes.data()));
    p.weights = memory(pd.weights_desc(), engine());
    dnnl::reorder(user, p.weights).execute(stream, user, p.weights);
    p.dst = memory(pd.dst_desc(), engine());
    p.dst_plain = memory({{g.n, g.m, g.oh, g.ow}, dt::s32, tag::nchw}, engine());
    stream.wait();
    passes.push_back(std::move(p));
  }
};

std::unique_ptr<Int8Conv> Int8Conv::make(const WindowGeom& g, const quant::Format& input,
                                         const int32_t* w, const int64_t* bias) {
  const int64_t cg = g.c / g.group;
  const int64_t per = cg * g.kh * g.kw;
  const size_t count = static_cast<size_t>(g.m * per);
  const int64_t a_max = input.qmax() - input.qmin();  // the largest u8 source byte
  if (a_max > 255) return nullptr;
  // Per pass, the largest |accumulator| (no bias): A * sum |w| over a channel's taps.
  auto bound = [&](auto weight_of) {
    int64_t worst = 0;
    for (int64_t oc = 0; oc < g.m; ++oc) {
      int64_t sum = 0;
      for (int64_t k = oc * per; k < (oc + 1) * per; ++k) sum += std::abs(weight_of(w[k]));
      worst = std::max(worst, sum * a_max);
    }
    return worst;
  };
  constexpr int64_t kFloatExact = int64_t{1} << 24;
  int64_t w_max = 0;
  for (size_t k = 0; k < count; ++k) w_max = std::max<int64_t>(w_max, w[k] < 0 ? -w[k] : w[k]);
  const bool split_needed = 2 * a_max * w_max > kInt16Max;
  auto impl = std::make_unique<Impl>();
  Impl& m = *impl;
  m.g = g;
  const auto pd = m.make_pd();
  const std::string name = pd.impl_info_str();
  const bool split = split_needed && !adds_in_int32(name);
  if (split) {
    if (2 * a_max * 64 > kInt16Max || bound([](int32_t v) { return v >> 1; }) >= kFloatExact ||
        a_max * per >= kFloatExact)
      return nullptr;
  } else if (bound([](int32_t v) { return v; }) >= kFloatExact) {
    return nullptr;
  }
  if (bias)
    for (int64_t oc = 0; oc < g.m; ++oc)
      if (bias[oc] < std::numeric_limits<int32_t>::min() ||
          bias[oc] > std::numeric_limits<int32_t>::max())
        return nullptr;
  m.bias.assign(static_cast<size_t>(g.m), 0);
  if (bias) std::copy_n(bias, g.m, m.bias.begin());
  m.offset = static_cast<int32_t>(-input.qmin());
  if (m.offset != 0) {
    // The weights under the in-bounds taps: a convolution of one image of ones.
    WindowGeom one = g;
    one.n = 1;
    const std::vector<int32_t> ones(static_cast<size_t>(g.c * g.h * g.w), 1);
    m.corr.assign(static_cast<size_t>(g.m * g.oh * g.ow), 0);
    conv2d_loop<int64_t>(
        one, ones.data(), w, [](int64_t) { return int64_t{0}; },
        [&](int64_t i, int64_t, int64_t sum) {  // |.| <= A sum |w| < 2^25 (checked)
          m.corr[static_cast<size_t>(i)] = static_cast<int32_t>(sum * m.offset);
        });
  }
  m.src = memory(pd.src_desc(), engine());
  m.src_bytes.resize(static_cast<size_t>(g.n * g.c * g.h * g.w));
  m.src_user = memory({{g.n, g.c, g.h, g.w}, dt::u8, tag::nchw}, engine(), m.src_bytes.data());
  if (!split) {
    m.add_pass(pd, std::vector<int8_t>(w, w + count));
    m.description = name;
  } else {
    // hi = floor(w / 2) in [-64, 63], lo = w - 2 hi in {0, 1}: 2 * 255 * 64 <= 32767.
    std::vector<int8_t> hi(count), lo(count);
    for (size_t k = 0; k < count; ++k) {
      hi[k] = static_cast<int8_t>(w[k] >> 1);
      lo[k] = static_cast<int8_t>(w[k] - 2 * (w[k] >> 1));
    }
    m.add_pass(pd, hi);
    m.add_pass(pd, lo);
    m.description = name + " (split weights)";
  }
  return std::unique_ptr<Int8Conv>(new Int8Conv(std::move(impl)));
}

Int8Conv::Int8Conv(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Int8Conv::~Int8Conv() = default;

const std::string& Int8Conv::description() const noexcept { return impl_->description; }

void Int8Conv::run(const int32_t* x, const OutputStage& stage, int32_t* y) {
  Impl& m = *impl_;
  const WindowGeom& g = m.g;
  // Codes (+ offset) fit u8 by their format; the reorder changes the layout.
  const int64_t total = g.n * g.c * g.h * g.w;
  uint8_t* bytes = m.src_bytes.data();
  const int32_t shift_in = m.offset;
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < total; ++k) bytes[k] = static_cast<uint8_t>(x[k] + shift_in);
  dnnl::reorder(m.src_user, m.src).execute(m.stream, m.src_user, m.src);
  for (Impl::Pass& p : m.passes) {
    p.conv.execute(m.stream,
                   {{DNNL_ARG_SRC, m.src}, {DNNL_ARG_WEIGHTS, p.weights}, {DNNL_ARG_DST, p.dst}});
    dnnl::reorder(p.dst, p.dst_plain).execute(m.stream, p.dst, p.dst_plain);
  }
  m.stream.wait();
  const auto* hi = static_cast<const int32_t*>(m.passes[0].dst_plain.get_data_handle());
  const auto* lo = m.passes.size() > 1
                       ? static_cast<const int32_t*>(m.passes[1].dst_plain.get_data_handle())
                       : nullptr;
  const int64_t plane = g.oh * g.ow;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t c = 0; c < g.m; ++c) {
      const int64_t off = (n * g.m + c) * plane;
      const Plane a{hi + off, lo ? lo + off : nullptr,
                    m.corr.empty() ? nullptr : m.corr.data() + c * plane,
                    m.bias[static_cast<size_t>(c)]};
      requantize_plane(a, plane, stage, c, y + off);
    }
}

}  // namespace gammaq::kernels
