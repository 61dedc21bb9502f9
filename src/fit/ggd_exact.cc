// Exact MSE of uniform quantizers under a fitted GGD and the exact-model FL search
// (ALGORITHMS.md 4.4, 4.6).
//
// Every cell integral int_a^b (x - y)^2 f(x) dx is computed without the cancellation of the
// textbook form I_2 - 2 y I_1 + y^2 I_0 (which loses ~log10(12 k^2) digits in cell k):
// - pieces touching 0, where f may be singular (beta < 0), use the incomplete-gamma moments,
//   only where y <= 0 or the piece ends below y/2, so that (x - y)^2 >= y^2/4 there;
// - the far tail [max(a, 2y), inf) uses the upper incomplete gamma likewise ((x - y)^2 >= x^2/4);
// - everything else uses 8-point Gauss-Legendre on pieces bisected until ln f varies by at most
//   2 over the piece and the piece is at most half as wide as its distance from 0 (the
//   singularity of x^beta and x^alpha); the rule is then accurate to ~1e-15 relative.
// Pieces whose contribution is provably below 1e-35 step^2 are skipped, which also ends the cell
// loop early once the cells beyond the mode of f are negligible. Runs of >= 4 cells (8+ steps
// from 0) over which (step/2)^2 |f''/f| <= 1e-6 are summed in closed form as
// step^2/12 * mass + step^4/360 * (f'(b) - f'(a)) (Euler-Maclaurin), so the cost does not grow
// with the bit width; tested against a hand-derived exponential closed form up to 24 bits.
#include <algorithm>
#include <array>
#include <boost/math/special_functions/gamma.hpp>
#include <cmath>
#include <limits>
#include <vector>

#include "fit/ggd.h"
#include "fit/special.h"

namespace gammaq::fit {
namespace {

using detail::Policy;

using detail::kNaN;
constexpr double kInf = std::numeric_limits<double>::infinity();

// 8-point Gauss-Legendre rule on [-1, 1] (symmetric half: nodes and weights).
constexpr std::array<double, 4> kGlNodes = {0.1834346424956498049, 0.5255324099163289858,
                                            0.7966664774136267396, 0.9602898564975362317};
constexpr std::array<double, 4> kGlWeights = {0.3626837833783619830, 0.3137066458778872873,
                                              0.2223810344533744705, 0.1012285362903762592};
constexpr int kMaxDepth = 60;           // bisection depth limit of the adaptive rule
constexpr double kTinyRel = 1e-35;      // skip pieces contributing < kTinyRel * step^2
constexpr double kDirectMaxShape = 50;  // above this s0 evaluate f through Boost's gamma prefix
constexpr int kMaxBits = 41;
constexpr int64_t kMaxCodes = (int64_t{1} << 40) + 1;  // unsigned 40-bit, signed 41-bit
constexpr double kGranularTol = 1e-6;  // (d/2)^2 |f''/f| bound of the granular block rule
constexpr int64_t kMinBlockCells = 4;  // shorter runs of cells are integrated cell by cell
constexpr double kMinBlockStart = 8;   // ... and so are the cells below 8 steps
constexpr int kScanPoints = 81;        // log-grid scan of the optimal-step searches
constexpr double kScanHalfWidth = 32;  // ... over [guess / 32, guess * 32]

// The fitted one-sided density in units of sigma = lambda^(-1/alpha) (so lambda = 1):
// f(x) = alpha x^beta exp(-x^alpha) / Gamma(s0), s0 = (beta + 1) / alpha, normalised on (0, inf).
class UnitSide {
 public:
  explicit UnitSide(const GgdParams& p)
      : alpha_(p.alpha), beta_(p.beta), s0_((p.beta + 1) / p.alpha) {
    ln_c0_ = std::log(alpha_) - boost::math::lgamma(s0_, Policy());
    for (int j = 0; j < 3; ++j) {
      shape_[j] = s0_ + j / alpha_;
      // Gamma(s_j) / Gamma(s0) = E[x^j].
      ratio_[j] = j == 0 ? 1.0 : 1 / boost::math::tgamma_delta_ratio(s0_, j / alpha_, Policy());
    }
    mode_ = beta_ > 0 ? std::pow(beta_ / alpha_, 1 / alpha_) : 0.0;
    concave_ = beta_ >= 0 && alpha_ >= 1;
  }

  [[nodiscard]] double mode() const { return mode_; }

  // int_a^b (x - y)^2 f(x) dx for 0 <= a < b <= inf, y >= 0.
  [[nodiscard]] double interval_sq(double a, double b, double y, double tiny) const {
    double sum = 0;
    if (a == 0) {
      const double c = y > 0 ? std::min(b, 0.5 * y) : b;
      sum += lower_sq(c, y);
      if (c >= b) return sum;
      a = c;
    }
    if (std::isinf(b)) {
      const double c = std::max(a, 2 * y);
      if (c > a) sum += adaptive(a, c, y, tiny, 0);
      return sum + upper_sq(c, y);
    }
    return sum + adaptive(a, b, y, tiny, 0);
  }

  // True when the cells of width d in [a, b] (a > 0) are smooth enough for granular_block:
  // (d/2)^2 max |f''/f| <= kGranularTol, bounding (ln f)' and (ln f)'' over [a, b].
  [[nodiscard]] bool granular_ok(double a, double b, double d) const {
    const double zb = std::pow(b, alpha_);
    const double g1 = (std::abs(beta_) + alpha_ * zb) / a;
    const double g2 = (std::abs(beta_) + alpha_ * std::abs(alpha_ - 1) * zb) / (a * a);
    return 0.25 * d * d * (g2 + g1 * g1) <= kGranularTol;
  }

  // Sum over the cells of width d tiling [a, b], each quantized to its centre:
  // d^2/12 * mass + the Euler-Maclaurin term d^4/360 (f'(b) - f'(a)); the neglected terms are
  // O(((d/2)^2 f''/f)^2) relative, ~1e-13 under granular_ok.
  [[nodiscard]] double granular_block(double a, double b, double d) const {
    const double za = std::pow(a, alpha_), zb = std::pow(b, alpha_);
    double mass;
    if (zb <= s0_) {
      mass = boost::math::gamma_p(s0_, zb, Policy()) - boost::math::gamma_p(s0_, za, Policy());
    } else {
      mass = boost::math::gamma_q(s0_, za, Policy()) - boost::math::gamma_q(s0_, zb, Policy());
    }
    auto fprime = [&](double x, double z) { return density(x) * (beta_ - alpha_ * z) / x; };
    const double d2 = d * d;
    return d2 / 12 * std::max(mass, 0.0) + d2 * d2 / 360 * (fprime(b, zb) - fprime(a, za));
  }

  // True when int_a^b (x - y)^2 f dx <= tiny is guaranteed (f is unimodal).
  [[nodiscard]] bool negligible(double a, double b, double y, double tiny) const {
    const double fmax = density(std::clamp(mode_, a, b));
    const double dist = std::max(std::abs(a - y), std::abs(b - y));
    return fmax * (b - a) * dist * dist <= tiny;
  }

 private:
  [[nodiscard]] double density(double x) const {
    if (!(x > 0)) return beta_ < 0 ? kInf : (beta_ == 0 ? std::exp(ln_c0_) : 0.0);
    const double z = std::pow(x, alpha_);
    if (s0_ <= kDirectMaxShape) return std::exp(ln_c0_ + beta_ * std::log(x) - z);
    return alpha_ * z / x * boost::math::gamma_p_derivative(s0_, z, Policy());
  }

  // Upper bound of |d ln f / dx| = |beta - alpha x^alpha| / x over [a, b], a > 0.
  [[nodiscard]] double max_log_slope(double a, double b) const {
    auto slope = [&](double x) { return std::abs(beta_ - alpha_ * std::pow(x, alpha_)) / x; };
    // ln f is concave for beta >= 0, alpha >= 1: the slope is monotone, extremes at the ends.
    if (concave_) return std::max(slope(a), slope(b));
    return std::abs(beta_) / a +
           alpha_ * std::max(std::pow(a, alpha_ - 1), std::pow(b, alpha_ - 1));
  }

  [[nodiscard]] double adaptive(double a, double b, double y, double tiny, int depth) const {
    if (negligible(a, b, y, tiny)) return 0;
    const double w = b - a;
    const double m = 0.5 * (a + b);
    const bool smooth = w * max_log_slope(a, b) <= 2 && w <= 0.5 * a;
    if (smooth || depth >= kMaxDepth) return gauss_legendre(a, b, y);
    return adaptive(a, m, y, tiny, depth + 1) + adaptive(m, b, y, tiny, depth + 1);
  }

  [[nodiscard]] double gauss_legendre(double a, double b, double y) const {
    const double h = 0.5 * (b - a), m = 0.5 * (a + b);
    double sum = 0;
    for (size_t i = 0; i < kGlNodes.size(); ++i) {
      const double x1 = m - h * kGlNodes[i], x2 = m + h * kGlNodes[i];
      sum +=
          kGlWeights[i] * ((x1 - y) * (x1 - y) * density(x1) + (x2 - y) * (x2 - y) * density(x2));
    }
    return h * sum;
  }

  // sum_j of the moments int x^j f over a piece, given its regularised gamma values g[j].
  [[nodiscard]] double combine(double y, const std::array<double, 3>& g) const {
    const double v = ratio_[2] * g[2] - 2 * y * ratio_[1] * g[1] + y * y * g[0];
    return std::max(v, 0.0);
  }
  [[nodiscard]] double lower_sq(double b, double y) const {
    std::array<double, 3> g{};
    const double z = std::pow(b, alpha_);
    for (int j = 0; j < 3; ++j) {
      g[j] = std::isinf(z) ? 1.0 : boost::math::gamma_p(shape_[j], z, Policy());
    }
    return combine(y, g);
  }
  [[nodiscard]] double upper_sq(double a, double y) const {
    std::array<double, 3> g{};
    const double z = std::pow(a, alpha_);
    for (int j = 0; j < 3; ++j) g[j] = boost::math::gamma_q(shape_[j], z, Policy());
    return combine(y, g);
  }

  double alpha_, beta_, s0_;
  double ln_c0_ = 0, mode_ = 0;
  bool concave_ = false;
  std::array<double, 3> shape_{}, ratio_{};
};

// lambda^(1/alpha): multiply a data-unit length by it to get sigma units.
double unit_scale(const GgdParams& p) { return std::exp(std::log(p.lambda) / p.alpha); }

// Sum over the interior cells k = first..last of width d centred on y_k = (k + offset) d.
double sum_cells(const UnitSide& side, double d, double offset, int64_t first, int64_t last) {
  const double tiny = kTinyRel * d * d;
  double sum = 0;
  int64_t k = first;
  while (k <= last) {
    const double y = (static_cast<double>(k) + offset) * d;
    const double a = y - 0.5 * d, b = y + 0.5 * d;
    if (side.negligible(a, b, y, tiny)) {
      // Beyond the mode f decreases, so all later cells are negligible too.
      if (a >= side.mode()) break;
      // Below it f increases: skip the run of negligible cells by bisection.
      int64_t lo = k;
      const double mode_cell = std::floor(side.mode() / d - offset + 0.5);
      int64_t hi = mode_cell >= static_cast<double>(last)
                       ? last
                       : std::max(k, static_cast<int64_t>(mode_cell));
      while (lo < hi) {
        const int64_t mid = lo + (hi - lo + 1) / 2;
        const double ym = (static_cast<double>(mid) + offset) * d;
        if (side.negligible(ym - 0.5 * d, ym + 0.5 * d, ym, tiny)) {
          lo = mid;
        } else {
          hi = mid - 1;
        }
      }
      k = lo + 1;
      continue;
    }
    // Far enough from 0, try a block of n >= kMinBlockCells cells spanning [a, ~1.5 a].
    if (a >= kMinBlockStart * d) {
      int64_t n = std::min(last - k + 1, std::max<int64_t>(k / 2, 1));
      while (n >= kMinBlockCells && !side.granular_ok(a, a + static_cast<double>(n) * d, d)) {
        n /= 2;
      }
      if (n >= kMinBlockCells) {
        sum += side.granular_block(a, a + static_cast<double>(n) * d, d);
        k += n;
        continue;
      }
    }
    sum += side.interval_sq(a, b, y, tiny);
    ++k;
  }
  return sum;
}

// Mid-tread MSE in sigma units, step d, m codes 0..m-1.
// `upper` (sigma units) truncates the overload cell: data never exceed it.
double midtread_unit(const UnitSide& side, double d, int64_t m, double upper) {
  const double tiny = kTinyRel * d * d;
  if (m == 1) return side.interval_sq(0, upper, 0, tiny);
  const double top = static_cast<double>(m - 1) * d;
  const double last = top - 0.5 * d;
  return side.interval_sq(0, 0.5 * d, 0, tiny) + sum_cells(side, d, 0.0, 1, m - 2) +
         (upper > last ? side.interval_sq(last, upper, top, tiny) : 0.0);
}

// Mid-rise MSE in sigma units, step d, h cells on the positive side.
double midrise_unit(const UnitSide& side, double d, int64_t h) {
  const double tiny = kTinyRel * d * d;
  if (h == 1) return side.interval_sq(0, kInf, 0.5 * d, tiny);
  const double a = static_cast<double>(h - 1) * d;
  return side.interval_sq(0, d, 0.5 * d, tiny) + sum_cells(side, d, 0.5, 1, h - 2) +
         side.interval_sq(a, kInf, a + 0.5 * d, tiny);
}

// A starting step for the optimal-step searches: 2 L0 / N with L0 = sigma (max(s0, 1) +
// 2 ln N)^(1/alpha), which is within a factor ~4 of the optimum for the tables of 4.4.
double step_guess(const GgdParams& p, double levels_n) {
  const double s0 = (p.beta + 1) / p.alpha;
  const double l0 = std::pow(std::max(s0, 1.0) + 2 * std::log(levels_n), 1 / p.alpha);
  return 2 * l0 / unit_scale(p) / levels_n;
}

// Minimises f over step > 0: log-grid scan around `guess`, then golden section in ln(step).
template <typename F>
double minimize_step(F f, double guess) {
  const double lo = std::log(guess / kScanHalfWidth), hi = std::log(guess * kScanHalfWidth);
  auto at = [&](int i) { return lo + (hi - lo) * i / (kScanPoints - 1); };
  int best = -1;
  double best_v = kInf;
  for (int i = 0; i < kScanPoints; ++i) {
    const double v = f(std::exp(at(i)));
    if (v < best_v) best_v = v, best = i;
  }
  if (best < 0) return kNaN;
  double a = at(std::max(best - 1, 0)), b = at(std::min(best + 1, kScanPoints - 1));
  const double g = (std::sqrt(5.0) - 1) / 2;
  double c = b - g * (b - a), d = a + g * (b - a);
  double fc = f(std::exp(c)), fd = f(std::exp(d));
  for (int it = 0; it < 200 && b - a > 1e-12; ++it) {
    if (fc < fd) {
      b = d, d = c, fd = fc;
      c = b - g * (b - a);
      fc = f(std::exp(c));
    } else {
      a = c, c = d, fc = fd;
      d = a + g * (b - a);
      fd = f(std::exp(d));
    }
  }
  return std::exp(0.5 * (a + b));
}

// The FL search of 4.6: ascending over [frac0 - 3, frac0 + 3], stop after two consecutive
// rises, ties -> smaller frac, NaN skipped.
template <typename F>
int search_frac(F mse_at, int frac0) {
  int best = frac0;
  double best_d = kInf, prev = kNaN;
  int rises = 0;
  const int64_t lo = std::max<int64_t>(int64_t{frac0} - 3, std::numeric_limits<int>::min());
  const int64_t hi = std::min<int64_t>(int64_t{frac0} + 3, std::numeric_limits<int>::max());
  for (int64_t fl = lo; fl <= hi; ++fl) {
    const double d = mse_at(static_cast<int>(fl));
    if (std::isnan(d)) continue;
    if (d < best_d) best_d = d, best = static_cast<int>(fl);
    if (d > prev) {
      if (++rises == 2) break;
    } else {
      rises = 0;
    }
    prev = d;
  }
  return best;
}

}  // namespace

double midtread_mse(const GgdParams& p, double step, int64_t codes_m, double upper) {
  if (!is_valid(p) || !(step > 0) || !std::isfinite(step) || codes_m < 1 || codes_m > kMaxCodes ||
      !(upper > 0)) {
    return kNaN;
  }
  const double scale = unit_scale(p);
  const double d = step * scale;
  if (!(d > 0) || !std::isfinite(d)) return kNaN;
  const UnitSide side(p);
  return midtread_unit(side, d, codes_m, upper * scale) / (scale * scale);
}

double fixed_point_mse_one_side(const GgdParams& p, int frac, int64_t codes_m, double upper) {
  return midtread_mse(p, std::ldexp(1.0, -frac), codes_m, upper);
}

double midrise_mse(const GgdParams& p, double levels_n, double step) {
  if (!is_valid(p) || !(step > 0) || !std::isfinite(step) || !(levels_n >= 2) ||
      !(levels_n <= 2.0 * kMaxCodes) || std::fmod(levels_n, 2.0) != 0) {
    return kNaN;
  }
  const double scale = unit_scale(p);
  const double d = step * scale;
  if (!(d > 0) || !std::isfinite(d)) return kNaN;
  const UnitSide side(p);
  return midrise_unit(side, d, static_cast<int64_t>(levels_n / 2)) / (scale * scale);
}

double optimal_midrise_step(const GgdParams& p, double levels_n) {
  if (std::isnan(midrise_mse(p, levels_n, 1.0))) return kNaN;
  return minimize_step([&](double s) { return midrise_mse(p, levels_n, s); },
                       step_guess(p, levels_n));
}

double optimal_midtread_step(const GgdParams& p, int64_t codes_m) {
  if (codes_m < 2 || std::isnan(midtread_mse(p, 1.0, codes_m))) return kNaN;
  return minimize_step([&](double s) { return midtread_mse(p, s, codes_m); },
                       step_guess(p, 2.0 * static_cast<double>(codes_m)));
}

int exact_model_best_frac(const GgdParams& p, int64_t codes_m, int frac0, double upper) {
  return search_frac([&](int fl) { return fixed_point_mse_one_side(p, fl, codes_m, upper); },
                     frac0);
}

int exact_model_best_frac_two_sided(const GgdParams& neg, const GgdParams& pos, double rho,
                                    int bits, int frac0, double upper_neg, double upper_pos) {
  if (!(rho >= 0 && rho <= 1) || bits < 1 || bits > kMaxBits) return frac0;
  const int64_t half = int64_t{1} << (bits - 1);
  return search_frac(
      [&](int fl) {
        double d = 0;
        if (rho > 0) d += rho * fixed_point_mse_one_side(neg, fl, half + 1, upper_neg);
        if (rho < 1) d += (1 - rho) * fixed_point_mse_one_side(pos, fl, half, upper_pos);
        return d;
      },
      frac0);
}

}  // namespace gammaq::fit
