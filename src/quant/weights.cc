#include "quant/weights.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

#include "gammaq/error.h"

namespace gammaq::quant {

namespace {

// max |w_j| in double; a NaN or infinite weight is bad input (ALGORITHMS.md 1.5).
double checked_max_abs(std::span<const float> w) {
  double a = 0;
  for (size_t j = 0; j < w.size(); ++j) {
    if (!std::isfinite(w[j])) {
      throw Error(ErrorKind::InvalidData,
                  str_cat("weights: element ", j, " is ", w[j], ": must be finite"));
    }
    a = std::max(a, std::fabs(static_cast<double>(w[j])));
  }
  return a;
}

double energy(std::span<const float> x) {
  double sum = 0;
  for (const float v : x) sum += static_cast<double>(v) * static_cast<double>(v);
  return sum;
}

}  // namespace

double sq_error(std::span<const float> w, const Format& format, Rounding rounding) {
  double sum = 0;
  for (const float v : w) {
    const double x = static_cast<double>(v);
    const double d = x - fake_quant(x, format, rounding);
    sum += d * d;
  }
  return sum;
}

double sqnr_db(double signal_energy, double noise_energy) {
  if (signal_energy == 0) return std::numeric_limits<double>::quiet_NaN();
  if (noise_energy == 0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(signal_energy / noise_energy);
}

double sqnr_db(std::span<const float> ref, std::span<const float> approx) {
  GAMMAQ_CHECK(ref.size() == approx.size(), "sqnr_db: sizes ", ref.size(), " and ", approx.size());
  double noise = 0;
  for (size_t j = 0; j < ref.size(); ++j) {
    const double d = static_cast<double>(ref[j]) - static_cast<double>(approx[j]);
    noise += d * d;
  }
  return sqnr_db(energy(ref), noise);
}

WeightChoice choose_weight_format(std::span<const float> w, int bits, int window,
                                  Rounding rounding) {
  WeightChoice choice;
  choice.format = make_format(bits, bits - 1, /*is_signed=*/true);  // validates bits
  if (window < 0) {
    throw Error(ErrorKind::InvalidOption,
                str_cat("window ", window,
                        ": must be >= 0 (number of candidate FLs; 0 = walk up while the error "
                        "decreases)"));
  }
  const double a = checked_max_abs(w);
  if (a == 0) {
    choice.degenerate = true;
    choice.sqnr_db = std::numeric_limits<double>::quiet_NaN();
    return choice;
  }
  const int64_t m = int64_t{bits} - 1 - ceil_log2(a);
  const int64_t first = std::clamp<int64_t>(m, kMinFrac, kMaxFrac);
  const int64_t last =
      window == 0 ? kMaxFrac : std::clamp<int64_t>(m + window - 1, kMinFrac, kMaxFrac);
  for (int64_t frac = first; frac <= last; ++frac) {
    const Format format = make_format(bits, static_cast<int>(frac), /*is_signed=*/true);
    const double d = sq_error(w, format, rounding);
    choice.tried.push_back({format.frac, d});
    if (choice.tried.size() == 1 || d < choice.sq_error) {  // ties keep the smaller frac
      choice.format = format;
      choice.sq_error = d;
    } else if (window == 0) {
      break;
    }
  }
  choice.sqnr_db = sqnr_db(energy(w), choice.sq_error);
  return choice;
}

std::vector<WeightChoice> choose_weight_format_per_channel(std::span<const float> w,
                                                           int64_t channels, int bits, int window,
                                                           Rounding rounding) {
  GAMMAQ_CHECK(channels >= 1 && w.size() % static_cast<size_t>(channels) == 0,
               "per-channel weights: ", w.size(), " elements in ", channels, " channels");
  const size_t per_channel = w.size() / static_cast<size_t>(channels);
  std::vector<WeightChoice> choices;
  choices.reserve(static_cast<size_t>(channels));
  for (size_t c = 0; c < static_cast<size_t>(channels); ++c) {
    choices.push_back(
        choose_weight_format(w.subspan(c * per_channel, per_channel), bits, window, rounding));
  }
  return choices;
}

Format ristretto_weight_format(std::span<const float> w, int bits) {
  const Format checked = make_format(bits, bits - 1, /*is_signed=*/true);  // validates bits
  const double a = checked_max_abs(w);
  if (a == 0) return checked;
  return make_format(bits, bits - 1 - ceil_log2(a), /*is_signed=*/true);
}

Format ristretto_activation_format(double max_abs, int bits, bool is_signed) {
  const Format checked = make_format(bits, bits - 1, is_signed);  // validates bits
  GAMMAQ_CHECK(max_abs >= 0 && std::isfinite(max_abs),
               "ristretto_activation_format: max|x| = ", max_abs);
  if (max_abs == 0) return checked;
  return make_format(bits, bits - ceil_log2(max_abs), is_signed);
}

}  // namespace gammaq::quant
