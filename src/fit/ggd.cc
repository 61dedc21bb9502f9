// GGD moment fit with alpha = 1 and the Hui-Neuhoff closed forms (ALGORITHMS.md 4.1-4.5).
#include "fit/ggd.h"

#include <boost/math/special_functions/gamma.hpp>
#include <cmath>
#include <limits>

#include "fit/special.h"

namespace gammaq::fit {
namespace {

using detail::Policy;

using detail::kNaN;
constexpr double kLn2 = 0.69314718055994530942;
constexpr double kLn3 = 1.09861228866810969140;
// Closed form (5)-(6) is unreliable above this kappa when alpha == 1 (4.2, 4.4).
constexpr double kMaxKappaClosedForm = 6.0;

// ln mu: the stored mu when it is usable, else the normaliser of 4.1 computed in logs.
double ln_mu(const GgdParams& p) {
  if (std::isfinite(p.mu) && p.mu > 0) return std::log(p.mu);
  const double r = (p.beta + 1) / p.alpha;
  return std::log(p.alpha) + r * std::log(p.lambda) - kLn2 - boost::math::lgamma(r, Policy());
}

}  // namespace

bool is_valid(const GgdParams& p) {
  return std::isfinite(p.alpha) && std::isfinite(p.beta) && std::isfinite(p.lambda) &&
         p.alpha > 0 && p.beta > -1 && p.lambda > 0;
}

std::optional<GgdParams> fit_alpha1(double mean, double var) {
  if (!std::isfinite(mean) || !std::isfinite(var) || !(mean > 0) || !(var > 0)) {
    return std::nullopt;
  }
  const double rel = var / mean / mean;
  if (!(rel >= 1e-12)) return std::nullopt;
  const double kappa = 1 / rel;
  const double lambda = mean / var;
  if (!std::isfinite(kappa) || !std::isfinite(lambda)) return std::nullopt;
  const double ln_mu_v = kappa * std::log(lambda) - kLn2 - boost::math::lgamma(kappa, Policy());
  return GgdParams{1.0, kappa - 1, lambda, std::exp(ln_mu_v)};
}

SupportEstimate hui_neuhoff_support(const GgdParams& p, double levels_n) {
  SupportEstimate out;
  if (!is_valid(p) || !(levels_n >= 4) || !std::isfinite(levels_n)) return out;
  if (p.alpha == 1.0 && p.beta + 1 > kMaxKappaClosedForm) return out;
  const double a = p.alpha, b = p.beta, lam = p.lambda;
  const double r = (1 + b) / a;
  const double c = 2 - r;
  const double ln_phi = (1 - r) * kLn2 + 2 * std::log(a) + r * std::log(lam) - kLn3 - ln_mu(p);
  const double ln_n = std::log(levels_n);
  const double lnln_n = std::log(ln_n);
  const double base = 2 * ln_n - c * lnln_n - ln_phi;
  // The three factors of eq. (6) as reconstructed in 4.2; (iii) is (1 + x)^c.
  const double f1 = 1 + 2 * a * ln_n / levels_n;
  const double f2 = 1 + (3 - 3 * a + 2 * b) / (2 * a * ln_n);
  const double f3_base = 1 + (c * lnln_n + ln_phi) / (2 * ln_n);
  if (!(f1 > 0) || !(f2 > 0) || !(f3_base > 0)) return out;
  const double eps = (std::log(f1) + std::log(f2) + c * std::log(f3_base)) / lam;
  const double bracket = base / lam + eps;
  if (!(bracket > 0) || !std::isfinite(bracket)) return out;
  const double support = std::pow(bracket, 1 / a);
  const double step = 2 * support / levels_n;
  if (!std::isfinite(support) || !std::isfinite(step) || !(step > 0)) return out;
  out.valid = true;
  out.support = support;
  out.step = step;
  out.epsilon = eps;
  return out;
}

double hui_neuhoff_distortion(const GgdParams& p, double levels_n, double support) {
  if (!is_valid(p) || !(levels_n > 0) || !(support > 0)) return kNaN;
  const double a = p.alpha, lam = p.lambda;
  const double step = 2 * support / levels_n;
  const double ln_over = std::log(4.0) + ln_mu(p) - 3 * std::log(a * lam) -
                         lam * std::pow(support, a) - (3 * a - p.beta - 3) * std::log(support);
  return step * step / 12 + std::exp(ln_over);
}

std::vector<int> closed_form_fracs(double step_hat) {
  if (!std::isfinite(step_hat) || !(step_hat > 0)) return {};
  int e = 0;
  const double f = std::frexp(step_hat, &e);  // step_hat = f 2^e, f in [0.5, 1)
  const int floor_log2 = e - 1;
  const int ceil_log2 = (f == 0.5) ? e - 1 : e;
  if (ceil_log2 == floor_log2) return {-floor_log2};
  return {-ceil_log2, -floor_log2};
}

double model_sqnr_db(const GgdParams& p, double mse) {
  if (!is_valid(p) || !(mse >= 0)) return kNaN;
  if (mse == 0) return std::numeric_limits<double>::infinity();
  const double s0 = (p.beta + 1) / p.alpha;
  // E[x^2] = Gamma(s0 + 2/alpha) / (Gamma(s0) lambda^(2/alpha)).
  const double ratio = 1 / boost::math::tgamma_delta_ratio(s0, 2 / p.alpha, Policy());
  const double second = ratio * std::exp(-2 * std::log(p.lambda) / p.alpha);
  return 10 * std::log10(second / mse);
}

}  // namespace gammaq::fit
