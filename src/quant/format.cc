#include "quant/format.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "gammaq/error.h"

namespace gammaq::quant {

namespace {

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();

// An integral double (or +-infinity) to int64, saturating at the ends of the int64 range.
int64_t to_int64_saturated(double r) noexcept {
  if (r >= 0x1p63) return kInt64Max;
  if (r < -0x1p63) return kInt64Min;
  return static_cast<int64_t>(r);
}

// Bit length of |v| (0 for 0).
int bit_length(__int128 v) noexcept {
  unsigned __int128 u = v < 0 ? -static_cast<unsigned __int128>(v) : v;
  int n = 0;
  while (u != 0) u >>= 1, ++n;
  return n;
}

// sign(num * 2^-shift - rhs * den) for den >= 1 and |rhs| < 2^31, exactly (128-bit; where a
// side's magnitude alone exceeds the other's, the signs decide).
int compare_scaled(int64_t num, int shift, int64_t rhs, int64_t den) noexcept {
  const __int128 r = static_cast<__int128>(rhs) * den;  // |r| < 2^94
  auto sign = [](__int128 d) { return d > 0 ? 1 : (d < 0 ? -1 : 0); };
  if (shift >= 0) {  // num against r * 2^shift
    if (r == 0) return sign(num);
    if (bit_length(r) - 1 + shift >= 63) return r > 0 ? -1 : 1;  // |r| 2^shift > |num|
    return sign(static_cast<__int128>(num) - r * (static_cast<__int128>(1) << shift));
  }
  const int k = -shift;  // num * 2^k against r
  if (num == 0) return sign(-r);
  if (bit_length(num) - 1 + k >= 94) return num > 0 ? 1 : -1;  // |num| 2^k > |r|
  return sign(static_cast<__int128>(num) * (static_cast<__int128>(1) << k) - r);
}

}  // namespace

int ThresholdTable::index_scaled(double scaled) const noexcept {
  if (std::isnan(scaled)) scaled = 0;
  auto it = std::upper_bound(thresholds.begin(), thresholds.end(), scaled,
                             [](double v, int32_t t) { return v < static_cast<double>(t); });
  int i = static_cast<int>(it - thresholds.begin());
  if (zero_bin && i == 1 && scaled == static_cast<double>(thresholds[0])) i = 0;
  return i;
}

int ThresholdTable::index_ratio(int64_t num, int64_t den, int shift) const noexcept {
  // The number of thresholds at or below the value (binary search on the exact comparison).
  size_t lo = 0, hi = thresholds.size();
  while (lo < hi) {
    const size_t mid = (lo + hi) / 2;
    if (compare_scaled(num, shift, thresholds[mid], den) >= 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  int i = static_cast<int>(lo);
  if (zero_bin && i == 1 && compare_scaled(num, shift, thresholds[0], den) == 0) i = 0;
  return i;
}

int ThresholdTable::index_shifted(int64_t acc, int shift) const noexcept {
  return index_ratio(acc, 1, shift);
}

std::string_view rounding_name(Rounding rounding) noexcept {
  switch (rounding) {
    case Rounding::HalfEven: return "half_even";
    case Rounding::HalfAway: return "half_away";
    case Rounding::HalfUp: return "half_up";
  }
  return "unknown";
}

Rounding parse_rounding(std::string_view name) {
  for (const Rounding r : {Rounding::HalfEven, Rounding::HalfAway, Rounding::HalfUp}) {
    if (name == rounding_name(r)) return r;
  }
  throw Error(ErrorKind::InvalidOption,
              str_cat("rounding '", name, "': must be one of half_even, half_away, half_up"));
}

int64_t Format::qmin() const noexcept { return is_signed ? -(int64_t{1} << (bits - 1)) : 0; }

int64_t Format::qmax() const noexcept {
  return is_signed ? (int64_t{1} << (bits - 1)) - 1 : (int64_t{1} << bits) - 1;
}

double Format::step() const noexcept { return std::ldexp(1.0, -frac); }

double Format::min_value() const noexcept { return dequantize(qmin(), *this); }

double Format::max_value() const noexcept { return dequantize(qmax(), *this); }

Format make_format(int bits, int frac, bool is_signed) {
  if (bits < kMinBits || bits > kMaxBits) {
    throw Error(ErrorKind::InvalidOption,
                str_cat("bits ", bits, ": must be in ", kMinBits, "..", kMaxBits));
  }
  return Format{bits, std::clamp(frac, kMinFrac, kMaxFrac), is_signed};
}

int ceil_log2(double a) {
  GAMMAQ_CHECK(a > 0 && std::isfinite(a), "ceil_log2(", a, "): needs a finite a > 0");
  int e = 0;
  const double f = std::frexp(a, &e);  // a = f * 2^e, f in [0.5, 1)
  return f == 0.5 ? e - 1 : e;
}

int64_t round_scaled(double x, Rounding rounding) noexcept {
  if (std::isnan(x)) return 0;
  if (std::isinf(x)) return x > 0 ? kInt64Max : kInt64Min;
  // Work on the magnitude: a - floor(a) is exact for a >= 0 (x - floor(x) is not for some
  // negative x, e.g. -0.5 + 2^-54). d != 0 implies a < 2^52, so f + 1 is exact too.
  const bool negative = x < 0;
  const double a = std::fabs(x);
  const double f = std::floor(a);
  const double d = a - f;
  bool up = false;  // round the magnitude up
  switch (rounding) {
    case Rounding::HalfEven: up = d > 0.5 || (d == 0.5 && std::fmod(f, 2.0) != 0.0); break;
    case Rounding::HalfAway: up = d >= 0.5; break;
    case Rounding::HalfUp: up = negative ? d > 0.5 : d >= 0.5; break;  // ties towards +inf
  }
  const double r = up ? f + 1.0 : f;
  return to_int64_saturated(negative ? -r : r);
}

int64_t quantize_code(double v, const Format& format, Rounding rounding) noexcept {
  if (format.table) {
    const ThresholdTable& t = *format.table;
    return t.levels[static_cast<size_t>(
        t.index_scaled(std::isnan(v) ? 0.0 : std::ldexp(v, format.frac)))];
  }
  if (std::isnan(v)) return 0;
  const int64_t lo = format.qmin();
  const int64_t hi = format.qmax();
  const double scaled = std::ldexp(v, format.frac);
  // Clamping before rounding equals rounding then clamping: both ends are integers and R is
  // monotone. It also keeps infinities and huge values away from the int64 conversion.
  if (scaled <= static_cast<double>(lo)) return lo;
  if (scaled >= static_cast<double>(hi)) return hi;
  return round_scaled(scaled, rounding);
}

double dequantize(int64_t q, const Format& format) noexcept {
  return std::ldexp(static_cast<double>(q), -format.frac);
}

double fake_quant(double v, const Format& format, Rounding rounding) noexcept {
  return dequantize(quantize_code(v, format, rounding), format);
}

// The hot loop of the simulation. Same result as the scalar fake_quant: v * 2^frac is exact in
// double (a float times a power of two); clamping to [qmin, qmax] first keeps |s| <= 2^16, where
// nearbyint (the default FE_TONEAREST mode: ties to even), round (ties away) and
// floor(s + 0.5) (ties up; s + 0.5 is exact there) are the three rounding rules.
namespace {

// Round half to even of |v| < 2^51 without a libm call (vectorises): adding and subtracting
// 1.5 * 2^52 leaves the integer the FPU's default rounding mode (to nearest, ties to even)
// picks. The callers clamp v to a 16-bit range first.
inline double rint_small(double v) noexcept {
  constexpr double kMagic = 6755399441055744.0;  // 1.5 * 2^52 (never built with -ffast-math)
  return (v + kMagic) - kMagic;
}

inline double floor_small(double v) noexcept {
  const double r = rint_small(v);
  return r > v ? r - 1.0 : r;
}

// Float rounding, the fast path: for |frac| <= 100, v * 2^frac and r * 2^-frac are exact in
// float (powers of two, normal range: |v| < 2^-100 rounds to 0 either way), the clamp bounds
// are integers below 2^17 and the magic number 1.5 * 2^23 rounds |s| < 2^22 to nearest-even in
// float -- the same value the double loop below computes. NaN becomes 0 first (a select, so
// the loop vectorises).
void fake_quant_float(std::span<float> x, int frac, float lo, float hi,
                      Rounding rounding) noexcept {
  const float scale = std::ldexp(1.0f, frac);
  const float inv = std::ldexp(1.0f, -frac);
  constexpr float kMagic = 12582912.0f;  // 1.5 * 2^23
  const int64_t n = static_cast<int64_t>(x.size());
  float* p = x.data();
  auto scaled = [=](float v) {
    v = v == v ? v : 0.0f;
    const float sc = v * scale;
    const float c = sc > lo ? sc : lo;
    return c < hi ? c : hi;
  };
  auto rint_f = [=](float v) { return (v + kMagic) - kMagic; };
  auto floor_f = [=](float v) {
    const float r = rint_f(v);
    return r > v ? r - 1.0f : r;
  };
  switch (rounding) {
    case Rounding::HalfEven:
      for (int64_t i = 0; i < n; ++i) p[i] = rint_f(scaled(p[i])) * inv;
      break;
    case Rounding::HalfAway:
      for (int64_t i = 0; i < n; ++i) {
        const float sc = scaled(p[i]);
        const float r = floor_f(std::fabs(sc) + 0.5f);
        p[i] = (sc < 0 ? -r : r) * inv;
      }
      break;
    case Rounding::HalfUp:
      for (int64_t i = 0; i < n; ++i) p[i] = floor_f(scaled(p[i]) + 0.5f) * inv;
      break;
  }
}

void fake_quant_double(std::span<float> x, const Format& format, Rounding rounding) noexcept {
  const double scale = std::ldexp(1.0, format.frac);
  const double inv = std::ldexp(1.0, -format.frac);
  const double lo = static_cast<double>(format.qmin());
  const double hi = static_cast<double>(format.qmax());
  const int64_t n = static_cast<int64_t>(x.size());
  float* p = x.data();
  // Clamping before rounding is exact: lo and hi are integers, so R(clamp(v)) = clamp(R(v)).
  switch (rounding) {
    case Rounding::HalfEven:
      for (int64_t i = 0; i < n; ++i) {
        const double sc = std::min(std::max(static_cast<double>(p[i]) * scale, lo), hi);
        p[i] = p[i] == p[i] ? static_cast<float>(rint_small(sc) * inv) : 0.0f;
      }
      break;
    case Rounding::HalfAway:
      for (int64_t i = 0; i < n; ++i) {
        const double sc = std::min(std::max(static_cast<double>(p[i]) * scale, lo), hi);
        const double r = floor_small(std::fabs(sc) + 0.5);
        p[i] = p[i] == p[i] ? static_cast<float>((sc < 0 ? -r : r) * inv) : 0.0f;
      }
      break;
    case Rounding::HalfUp:
      for (int64_t i = 0; i < n; ++i) {
        const double sc = std::min(std::max(static_cast<double>(p[i]) * scale, lo), hi);
        p[i] = p[i] == p[i] ? static_cast<float>(floor_small(sc + 0.5) * inv) : 0.0f;
      }
      break;
  }
}

}  // namespace

void fake_quant(std::span<float> x, const Format& format, Rounding rounding) noexcept {
  // Elementwise, so blocks run on the kernel threads (one block per call on small tensors).
  constexpr int64_t kBlock = int64_t{1} << 15;
  const int64_t n = static_cast<int64_t>(x.size());
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  const bool in_float = format.bits <= 16 && std::abs(format.frac) <= 100;
#pragma omp parallel for schedule(static) if (blocks > 2)
  for (int64_t b = 0; b < blocks; ++b) {
    const std::span<float> part = x.subspan(static_cast<size_t>(b * kBlock),
                                            static_cast<size_t>(std::min(kBlock, n - b * kBlock)));
    if (format.table)
      for (float& v : part)
        v = static_cast<float>(fake_quant(static_cast<double>(v), format, rounding));
    else if (in_float)
      fake_quant_float(part, format.frac, static_cast<float>(format.qmin()),
                       static_cast<float>(format.qmax()), rounding);
    else
      fake_quant_double(part, format, rounding);
  }
}

int64_t requantize(int64_t acc, int shift, const Format& out, Rounding rounding) noexcept {
  if (out.table)
    return out.table->levels[static_cast<size_t>(out.table->index_shifted(acc, shift))];
  const int64_t lo = out.qmin();
  const int64_t hi = out.qmax();
  if (shift <= 0) {
    // Exact acc * 2^k, k = -shift, saturated; the overflow tests run before the multiply.
    const int64_t k = -static_cast<int64_t>(shift);
    if (acc == 0) return 0;  // lo <= 0 <= hi for every format
    if (k >= 63) return acc > 0 ? hi : lo;
    const int64_t scale = int64_t{1} << k;
    if (acc > 0) return acc > (hi >> k) ? hi : acc * scale;  // acc * 2^k <= hi <=> acc <= hi>>k
    return acc < -((-lo) >> k) ? lo : acc * scale;           // acc * 2^k >= lo <=> acc >= ceil
  }
  if (shift > 64) return 0;  // |acc| * 2^-65 <= 1/4: rounds to 0 in every mode
  // acc = t * 2^shift + r with t = floor(acc / 2^shift), 0 <= r < 2^shift; h = 2^(shift-1).
  int64_t t = 0;
  uint64_t r = 0;
  if (shift == 64) {
    t = acc < 0 ? -1 : 0;
    r = static_cast<uint64_t>(acc);  // acc + 2^64 when acc < 0
  } else {
    t = acc >> shift;  // arithmetic (floor) in C++20
    r = static_cast<uint64_t>(acc) & ((uint64_t{1} << shift) - 1);
  }
  const uint64_t h = uint64_t{1} << (shift - 1);
  bool up = false;
  switch (rounding) {
    case Rounding::HalfEven: up = r > h || (r == h && (t & 1) != 0); break;
    case Rounding::HalfAway: up = r > h || (r == h && acc >= 0); break;  // a negative tie: t
    case Rounding::HalfUp: up = r >= h; break;
  }
  if (up) ++t;  // t <= 2^(63 - shift) - 1 here, no overflow
  return std::clamp(t, lo, hi);
}

int64_t requantize_ratio(int64_t num, int64_t den, int shift, const Format& out,
                         Rounding rounding) noexcept {
  if (out.table)
    return out.table->levels[static_cast<size_t>(out.table->index_ratio(num, den, shift))];
  if (den == 1) return requantize(num, shift, out, rounding);
  const int64_t lo = out.qmin();
  const int64_t hi = out.qmax();
  if (num == 0) return 0;
  // |num| < 2^63 and den < 2^63: scale within 128 bits, saturating where the result must.
  __int128 n = num, d = den;
  if (shift < 0) {
    if (shift < -62) return num > 0 ? hi : lo;
    n *= static_cast<__int128>(1) << -shift;
  } else if (shift > 0) {
    if (shift > 62) return 0;  // |num / den| * 2^-63 < 1/2
    d *= static_cast<__int128>(1) << shift;
  }
  // n = t * d + r with t = floor(n / d), 0 <= r < d.
  __int128 t = n / d, r = n % d;
  if (r < 0) {
    r += d;
    t -= 1;
  }
  const __int128 twice = 2 * r;
  bool up = false;
  switch (rounding) {
    case Rounding::HalfEven: up = twice > d || (twice == d && (t & 1) != 0); break;
    case Rounding::HalfAway: up = twice > d || (twice == d && n >= 0); break;
    case Rounding::HalfUp: up = twice >= d; break;
  }
  if (up) t += 1;
  return static_cast<int64_t>(std::clamp<__int128>(t, lo, hi));
}

double AccumulatorBias::value(int acc_frac) const noexcept {
  return std::ldexp(static_cast<double>(code), shift - acc_frac);
}

AccumulatorBias accumulator_bias(double b, int acc_frac, Rounding rounding) noexcept {
  AccumulatorBias r;
  if (!(std::fabs(b) < 1e300)) return r;  // NaN/inf never reach here (import checks)
  constexpr int64_t kLimit = int64_t{1} << 24;
  while (true) {
    r.code = round_scaled(std::ldexp(b, acc_frac - r.shift), rounding);
    if (r.code > -kLimit && r.code < kLimit) return r;
    ++r.shift;
  }
}

}  // namespace gammaq::quant
