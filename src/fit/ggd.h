// Generalized gamma distribution (GGD) model of feature maps: moment and ML fits, the
// Hui-Neuhoff closed forms (5)-(7) and the exact model MSE of uniform quantizers
// (ALGORITHMS.md section 4).
//
// Conventions used by every function below:
// - GgdParams describes the symmetrised two-sided density on the real line
//       p(x) = mu |x|^beta exp(-lambda |x|^alpha),  alpha > 0, beta > -1, lambda > 0,
//   normalised so that it integrates to 1 over R: mu = alpha lambda^((beta+1)/alpha) /
//   (2 Gamma((beta+1)/alpha)) (4.1). A one-sided (post-ReLU, or |x| of a negative group)
//   density f(x) = 2 p(x) on (0, inf) is represented by its symmetrisation p.
// - x, step, support and distortion are in the units of the data (distortion: data units
//   squared). A fractional length `frac` means step 2^-frac.
// - levels_n (N) is the *symmetric* level count of (5)-(7), i.e. twice the number of
//   non-negative codes of the fixed-point format (4.3): signed bw-bit -> N = 2^bw, unsigned
//   bw-bit -> N = 2^(bw+1), each side of two-sided data (Algorithm 3) -> N = 2^bw.
// - Numeric degeneracy is not an exception: fits return std::nullopt, hui_neuhoff_support
//   returns valid = false, and the MSE functions return NaN, so the caller can fall back.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <vector>

namespace gammaq::fit {

// Symmetrised two-sided density p(x) = mu |x|^beta exp(-lambda |x|^alpha) (4.1).
struct GgdParams {
  double alpha, beta, lambda, mu;
};

// True when alpha > 0, beta > -1, lambda > 0 and all are finite (mu is not checked; the
// exact-model functions do not use it, see below).
[[nodiscard]] bool is_valid(const GgdParams& p);

// Moment fit with alpha = 1 (4.1) from the mean and variance of the non-zero samples of a
// one-sided tensor: kappa = mean^2/var, beta = kappa - 1, lambda = mean/var,
// mu = lambda^kappa / (2 Gamma(kappa)) computed in logs. mu may overflow to +inf or underflow
// to 0 for extreme kappa (hundreds and more); the closed forms then use the normaliser's
// logarithm instead. nullopt when an input is not finite, mean <= 0, var <= 0 or
// var/mean^2 < 1e-12 (zero variance, 4.8).
[[nodiscard]] std::optional<GgdParams> fit_alpha1(double mean, double var);

// Profile maximum-likelihood fit with alpha free (4.9 b) of the Stacy generalized gamma law
// f(x) = p lambda^k x^(kp-1) exp(-lambda x^p) / Gamma(k) to positive samples; returned as
// alpha = p, beta = k p - 1, lambda, mu = p lambda^k / (2 Gamma(k)). Samples that are not
// finite or not > 0 are ignored. p is searched in [0.05, 20] (60-point scan of ln p, then
// golden section). nullopt when fewer than 2 usable samples remain, when they are all equal,
// or when the optimum is not finite.
[[nodiscard]] std::optional<GgdParams> fit_alpha_free(std::span<const double> positive_samples);

// Log-moment fit with alpha free (4.9 a) from the mean, variance and skewness of ln x over the
// positive samples. The skewness is clamped to [-1.999, -1e-4] and k is found by bisection in
// ln k over [1e-6, 1e9]. nullopt when an input is not finite or var_log <= 0.
[[nodiscard]] std::optional<GgdParams> fit_alpha_free_log_moments(double mean_log, double var_log,
                                                                  double skew_log);

// Result of the Hui-Neuhoff closed form: support L (data units), step = 2 L / N and the
// correction epsilon_N of eq. (6) (units of lambda |x|^alpha divided by lambda, i.e. of
// |x|^alpha).
struct SupportEstimate {
  bool valid = false;
  double support = 0, step = 0, epsilon = 0;
};

// Eq. (5) with the reconstructed correction (6) (4.2): the asymptotically optimal support of
// the symmetric N-level uniform quantizer for p. For one-sided data the step is the step of
// the positive half (4.3). valid = false (other fields unspecified) when N < 4, the parameters
// are invalid, a factor inside ln[.] of (6) is <= 0, the bracket of (5) is <= 0, a result is
// not finite, or alpha == 1 and kappa = beta + 1 > 6 (closed form unreliable, 4.4): fall back
// to the exact-model search then.
[[nodiscard]] SupportEstimate hui_neuhoff_support(const GgdParams& p, double levels_n);

// Eq. (7): D-hat_N(L) = (2L/N)^2/12 + 4 mu/(alpha lambda)^3 exp(-lambda L^alpha) /
// L^(3 alpha - beta - 3), in data units squared (leading-order distortion of the symmetric
// N-level quantizer with support L; the paper's fast mode evaluates it at L = N 2^-frac / 2).
// NaN when the parameters are invalid, N <= 0 or L <= 0.
[[nodiscard]] double hui_neuhoff_distortion(const GgdParams& p, double levels_n, double support);

// Exact MSE of the symmetric N-level mid-rise quantizer with step `step` (thresholds 0,
// +-step, ..., +-(N/2-1) step; levels +-(k-1/2) step) under p; equals the MSE of the
// one-sided N/2-level mid-rise quantizer under f conditional on x > 0 (4.3). Uses the
// normalised density (mu is not used). NaN when N is not an even integer >= 2, step <= 0 or
// not finite, or the parameters are invalid.
[[nodiscard]] double midrise_mse(const GgdParams& p, double levels_n, double step);

// The step minimising midrise_mse (log-grid scan + golden section), i.e. the "exact Delta*"
// of the tables in 4.4. NaN under the same conditions as midrise_mse.
[[nodiscard]] double optimal_midrise_step(const GgdParams& p, double levels_n);

// Exact MSE (4.6), conditional on x > 0, of the mid-tread quantizer with codes_m codes
// 0..M-1 and step `step` under the one-sided density f(x) = 2 mu x^beta exp(-lambda x^alpha)
// (normalised; mu itself is not used): cells [0, step/2) -> 0,
// [(k-1/2) step, (k+1/2) step) -> k step for 1 <= k <= M-2, [(M-3/2) step, inf) -> (M-1) step.
// Multiply by the fraction of non-zero samples to get the MSE over a tensor with zeros;
// the model SQNR of 6.1 is model_sqnr_db(p, mse). Cells are integrated without cancellation
// (adaptive Gauss-Legendre away from 0, incomplete gamma at 0 and far in the tail), so the
// result is accurate to ~1e-12 relative at any bit width (above ~12 bits, runs of smooth cells
// are summed in closed form as step^2/12 * mass plus an Euler-Maclaurin term). NaN when
// codes_m < 1 or codes_m > 2^40 + 1, step <= 0 or not finite, or the parameters are invalid.
// `upper` truncates the overload cell at the largest magnitude the data reach (the fitted
// tail beyond the calibration maximum is not data; see ALGORITHMS.md 4.6 and the README):
// the cell [(M-3/2) step, inf) becomes [(M-3/2) step, upper). Default: no truncation.
[[nodiscard]] double midtread_mse(const GgdParams& p, double step, int64_t codes_m,
                                  double upper = std::numeric_limits<double>::infinity());

// midtread_mse at step 2^-frac, i.e. the fixed-point format with fractional length `frac`
// and M = codes_m non-negative codes (signed bw-bit: M = 2^(bw-1); unsigned: M = 2^bw).
[[nodiscard]] double fixed_point_mse_one_side(
    const GgdParams& p, int frac, int64_t codes_m,
    double upper = std::numeric_limits<double>::infinity());

// The real step minimising midtread_mse (log-grid scan + golden section): the "mid-tread
// Delta*" column of 4.4. NaN under the same conditions as midtread_mse or when codes_m < 2.
[[nodiscard]] double optimal_midtread_step(const GgdParams& p, int64_t codes_m);

// Fractional-length candidates of Algorithm 2 step 5: {-ceil(log2 step), -floor(log2 step)},
// deduplicated (one element when step is a power of two), ascending. log2 is taken exactly via
// frexp. Empty when step is not finite or <= 0.
[[nodiscard]] std::vector<int> closed_form_fracs(double step_hat);

// Exact-model search (4.6): the frac in [frac0 - 3, frac0 + 3] minimising
// fixed_point_mse_one_side(p, frac, codes_m), scanning upwards and stopping once D has risen
// twice in a row; ties -> the smaller frac. NaN values are skipped; returns frac0 when every
// candidate is NaN (invalid parameters).
[[nodiscard]] int exact_model_best_frac(const GgdParams& p, int64_t codes_m, int frac0,
                                        double upper = std::numeric_limits<double>::infinity());

// Two-sided variant (4.6, 4.7): D = rho D_neg + (1 - rho) D_pos with rho the fraction of
// negative samples, `neg` fitted on the magnitudes of the negative samples (codes 0 and
// 1..2^(bits-1), i.e. M = 2^(bits-1) + 1) and `pos` on the non-negative ones (codes
// 0..2^(bits-1)-1, M = 2^(bits-1)); the signed bits-bit format. Same search and tie rule as
// exact_model_best_frac. A side with weight 0 is ignored. Returns frac0 when every candidate
// is NaN, rho is not in [0, 1] or bits is not in [1, 41].
inline constexpr double kNoUpper = std::numeric_limits<double>::infinity();
[[nodiscard]] int exact_model_best_frac_two_sided(const GgdParams& neg, const GgdParams& pos,
                                                  double rho, int bits, int frac0,
                                                  double upper_neg = kNoUpper,
                                                  double upper_pos = kNoUpper);

// Model SQNR of 6.1: 10 log10(E[x^2] / mse) with E[x^2] the second moment of f (x > 0),
// Gamma((beta+3)/alpha) / (Gamma((beta+1)/alpha) lambda^(2/alpha)); +inf when mse == 0,
// NaN when the parameters are invalid or mse < 0.
[[nodiscard]] double model_sqnr_db(const GgdParams& p, double mse);

}  // namespace gammaq::fit
