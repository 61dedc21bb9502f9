// GGD fits with alpha free (ALGORITHMS.md 4.9): profile maximum likelihood and log-moments.
#include <algorithm>
#include <boost/math/special_functions/digamma.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <boost/math/special_functions/polygamma.hpp>
#include <boost/math/special_functions/trigamma.hpp>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "fit/ggd.h"
#include "fit/special.h"

namespace gammaq::fit {
namespace {

using detail::Policy;

constexpr double kLn2 = 0.69314718055994530942;
constexpr double kMinP = 0.05, kMaxP = 20;  // search range of the shape p = alpha
constexpr int kScanPoints = 60;
// Above this k, ln k - psi(k) and psi1(k) - 1/k come from their asymptotic series (the direct
// differences cancel).
constexpr double kSeriesMinShape = 20;

// ln k - psi(k) > 0.
double log_minus_digamma(double k) {
  if (k > kSeriesMinShape) {
    const double u = 1 / (k * k);
    return 1 / (2 * k) +
           u * (1.0 / 12 - u * (1.0 / 120 - u * (1.0 / 252 - u * (1.0 / 240 - u / 132))));
  }
  return std::log(k) - boost::math::digamma(k, Policy());
}

// psi1(k) - 1/k > 0.
double trigamma_minus_inverse(double k) {
  if (k > kSeriesMinShape) {
    const double u = 1 / (k * k);
    return u * (0.5 + (1 / k) * (1.0 / 6 - u * (1.0 / 30 - u * (1.0 / 42 - u / 30))));
  }
  return boost::math::trigamma(k, Policy()) - 1 / k;
}

// Gamma shape k solving ln k - psi(k) = s (s > 0): Minka's start, then Newton in 1/k (4.9 b).
double gamma_shape(double s) {
  double k = (3 - s + std::sqrt((s - 3) * (s - 3) + 24 * s)) / (12 * s);
  for (int it = 0; it < 100; ++it) {
    const double inv = 1 / k + (log_minus_digamma(k) - s) / (k * k * -trigamma_minus_inverse(k));
    if (!(inv > 0) || !std::isfinite(inv)) break;
    const double next = 1 / inv;
    const bool done = std::abs(next - k) <= 1e-14 * k;
    k = next;
    if (done) break;
  }
  return k;
}

// Result of the inner gamma fit of z = x^p at a fixed p (samples already rescaled).
struct Profile {
  double loglik, k, ln_lambda;
};

class ProfileLikelihood {
 public:
  // ln_x: logarithms of the samples divided by their geometric mean.
  explicit ProfileLikelihood(std::vector<double> ln_x) : ln_x_(std::move(ln_x)) {
    double sum = 0;
    for (double v : ln_x_) sum += v;
    mean_ln_x_ = sum / static_cast<double>(ln_x_.size());
    max_ln_x_ = *std::max_element(ln_x_.begin(), ln_x_.end());
  }

  [[nodiscard]] Profile at(double ln_p) const {
    const double p = std::exp(ln_p);
    // ln mean(x^p) by log-sum-exp, so any p is safe.
    const double top = p * max_ln_x_;
    double sum = 0;
    for (double v : ln_x_) sum += std::exp(p * v - top);
    const double ln_mean_z = top + std::log(sum / static_cast<double>(ln_x_.size()));
    const double s = std::max(ln_mean_z - p * mean_ln_x_, 1e-12);
    const double k = gamma_shape(s);
    const double ln_lambda = std::log(k) - ln_mean_z;  // lambda = k / mean(z)
    // lambda mean(z) = k, hence the last term.
    const double ll =
        ln_p + k * ln_lambda - boost::math::lgamma(k, Policy()) + (k * p - 1) * mean_ln_x_ - k;
    return {ll, k, ln_lambda};
  }

 private:
  std::vector<double> ln_x_;
  double mean_ln_x_ = 0, max_ln_x_ = 0;
};

std::optional<GgdParams> stacy_to_ggd(double p, double k, double ln_lambda) {
  const double lambda = std::exp(ln_lambda);
  const double ln_mu = std::log(p) + k * ln_lambda - kLn2 - boost::math::lgamma(k, Policy());
  const GgdParams out{p, k * p - 1, lambda, std::exp(ln_mu)};
  if (!is_valid(out) || !(lambda > 0) || !std::isfinite(lambda)) return std::nullopt;
  return out;
}

}  // namespace

std::optional<GgdParams> fit_alpha_free(std::span<const double> positive_samples) {
  std::vector<double> ln_x;
  ln_x.reserve(positive_samples.size());
  double sum = 0;
  for (double x : positive_samples) {
    if (std::isfinite(x) && x > 0) {
      ln_x.push_back(std::log(x));
      sum += ln_x.back();
    }
  }
  if (ln_x.size() < 2) return std::nullopt;
  const auto [lo, hi] = std::minmax_element(ln_x.begin(), ln_x.end());
  if (*lo == *hi) return std::nullopt;
  // Rescale by the geometric mean g (x <- x / g) to keep x^p finite; undone below.
  const double ln_g = sum / static_cast<double>(ln_x.size());
  for (double& v : ln_x) v -= ln_g;
  const ProfileLikelihood prof(std::move(ln_x));

  const double a0 = std::log(kMinP), a1 = std::log(kMaxP);
  auto grid = [&](int i) { return a0 + (a1 - a0) * i / (kScanPoints - 1); };
  int best = 0;
  double best_ll = -std::numeric_limits<double>::infinity();
  for (int i = 0; i < kScanPoints; ++i) {
    const double ll = prof.at(grid(i)).loglik;
    if (ll > best_ll) best_ll = ll, best = i;
  }
  if (!std::isfinite(best_ll)) return std::nullopt;
  // Golden section on ln p between the scan neighbours of the best point (maximisation).
  double a = grid(std::max(best - 1, 0)), b = grid(std::min(best + 1, kScanPoints - 1));
  const double gr = (std::sqrt(5.0) - 1) / 2;
  double c = b - gr * (b - a), d = a + gr * (b - a);
  double fc = prof.at(c).loglik, fd = prof.at(d).loglik;
  for (int it = 0; it < 200 && b - a > 1e-10; ++it) {
    if (fc > fd) {
      b = d, d = c, fd = fc;
      c = b - gr * (b - a);
      fc = prof.at(c).loglik;
    } else {
      a = c, c = d, fc = fd;
      d = a + gr * (b - a);
      fd = prof.at(d).loglik;
    }
  }
  const double ln_p = 0.5 * (a + b);
  const Profile r = prof.at(ln_p);
  const double p = std::exp(ln_p);
  if (!std::isfinite(r.loglik)) return std::nullopt;
  return stacy_to_ggd(p, r.k, r.ln_lambda - p * ln_g);
}

std::optional<GgdParams> fit_alpha_free_log_moments(double mean_log, double var_log,
                                                    double skew_log) {
  if (!std::isfinite(mean_log) || !std::isfinite(var_log) || !std::isfinite(skew_log) ||
      !(var_log > 0)) {
    return std::nullopt;
  }
  const double g = std::clamp(skew_log, -1.999, -1e-4);
  // skew(ln X) = psi2(k) / psi1(k)^1.5 increases from -2 (k -> 0) to 0 (k -> inf).
  auto skew_of = [](double k) {
    return boost::math::polygamma(2, k, Policy()) /
           std::pow(boost::math::trigamma(k, Policy()), 1.5);
  };
  double lo = std::log(1e-6), hi = std::log(1e9);
  for (int it = 0; it < 200 && hi - lo > 1e-13; ++it) {
    const double mid = 0.5 * (lo + hi);
    if (skew_of(std::exp(mid)) > g) {
      hi = mid;
    } else {
      lo = mid;
    }
  }
  const double k = std::exp(0.5 * (lo + hi));
  const double p = std::sqrt(boost::math::trigamma(k, Policy()) / var_log);
  const double ln_lambda = boost::math::digamma(k, Policy()) - p * mean_log;
  if (!std::isfinite(p) || !(p > 0)) return std::nullopt;
  return stacy_to_ggd(p, k, ln_lambda);
}

}  // namespace gammaq::fit
