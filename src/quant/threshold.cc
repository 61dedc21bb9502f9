#include "quant/threshold.h"

#include <algorithm>
#include <boost/math/special_functions/erf.hpp>
#include <cmath>
#include <limits>
#include <memory>
#include <numbers>

#include "gammaq/error.h"
#include "quant/weights.h"

namespace gammaq::quant {
namespace {

int bins_of(int bits) {
  if (bits < 1 || bits > 16)
    throw Error(ErrorKind::InvalidOption, str_cat("threshold quantizer: ", bits, " bits"));
  return 1 << bits;
}

}  // namespace

int ThresholdQuantizer::index(double x) const noexcept {
  if (zero_bin && !(x > 0.0)) return 0;
  const auto first = zero_bin ? thresholds.begin() + 1 : thresholds.begin();
  return static_cast<int>(std::upper_bound(first, thresholds.end(), x) - thresholds.begin());
}

double normal_quantile(double p) { return -std::numbers::sqrt2 * boost::math::erfc_inv(2.0 * p); }
double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::numbers::sqrt2); }

ThresholdQuantizer normal_weights(double mean, double sd, int bits) {
  const int k = bins_of(bits);
  const double s = std::max(sd, 1e-5);
  ThresholdQuantizer q;
  for (int j = 1; j < k; ++j) q.thresholds.push_back(mean + s * normal_quantile(double(j) / k));
  for (int j = 0; j < k; ++j) q.levels.push_back(mean + s * normal_quantile((j + 0.5) / k));
  return q;
}

namespace {

// k equal-count bins of the values (fewer when values repeat), appended to q.
void empirical_bins(std::span<const float> w, int k, ThresholdQuantizer& q) {
  std::vector<float> v(w.begin(), w.end());
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  size_t begin = 0;
  for (int j = 1; j <= k; ++j) {
    // Bin j-1 holds v[begin, end): cut at the j/K quantile, never inside a run of equal values.
    size_t end = j == k ? n : static_cast<size_t>(std::llround(double(n) * j / k));
    end = std::max(end, begin);
    while (end < n && end > 0 && v[end] == v[end - 1]) ++end;
    if (end == begin) continue;  // an empty bin: fewer bins
    if (begin > 0) q.thresholds.push_back(v[begin]);
    const size_t mid = begin + (end - begin) / 2;
    q.levels.push_back((end - begin) % 2 ? v[mid] : 0.5 * (double(v[mid - 1]) + v[mid]));
    begin = end;
  }
}

}  // namespace

ThresholdQuantizer empirical_weights(std::span<const float> w, int bits) {
  const int k = bins_of(bits);
  GAMMAQ_CHECK(!w.empty(), "empirical_weights: no weights");
  ThresholdQuantizer q;
  empirical_bins(w, k, q);
  return q;
}

ThresholdQuantizer empirical_relu_hybrid(std::span<const float> positive, int bits) {
  const int k = bins_of(bits);
  ThresholdQuantizer q;
  q.zero_bin = true;
  q.thresholds.push_back(0.0);
  q.levels.push_back(0.0);
  if (!positive.empty() && k > 1) empirical_bins(positive, k - 1, q);
  if (q.levels.size() == 1) q.thresholds.clear(), q.zero_bin = false;  // nothing positive
  return q;
}

int default_threshold_grid_bits(int bits) noexcept { return std::min(16, bits + 4); }

Format threshold_format(const ThresholdQuantizer& q, int grid_bits, bool is_signed,
                        Rounding rounding, int* dropped) {
  // Unsigned: the signed grid one bit wider has the same non-negative range.
  const IntegerThresholds it = to_integer(q, is_signed ? grid_bits : grid_bits + 1, rounding);
  Format f = make_format(grid_bits, it.frac, is_signed);
  auto table = std::make_shared<ThresholdTable>();
  table->zero_bin = it.zero_bin;
  for (int64_t t : it.thresholds)
    table->thresholds.push_back(static_cast<int32_t>(std::clamp<int64_t>(
        t, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max())));
  for (int64_t l : it.levels)
    table->levels.push_back(static_cast<int32_t>(std::clamp(l, f.qmin(), f.qmax())));
  if (dropped) *dropped = it.dropped;
  f.table = std::move(table);
  return f;
}

NuuqChoice threshold_codebook(std::span<const float> w, const ThresholdWeightOptions& o) {
  GAMMAQ_CHECK(!w.empty(), "threshold_codebook: no weights");
  ThresholdQuantizer q;
  if (o.empirical) {
    q = empirical_weights(w, o.bits);
  } else {
    double sum = 0, sq = 0;
    for (float v : w) sum += v, sq += double(v) * v;
    const double n = static_cast<double>(w.size());
    const double mean = sum / n;
    q = normal_weights(mean, std::sqrt(std::max(0.0, sq / n - mean * mean)), o.bits);
  }
  if (o.lloyd) lloyd_max(q, w);
  const int grid_bits = o.grid_bits > 0 ? o.grid_bits : default_threshold_grid_bits(o.bits);
  const IntegerThresholds it = to_integer(q, grid_bits, o.rounding);
  NuuqChoice ch;
  ch.grid = make_format(grid_bits, it.frac, true);
  // Bounds on the grid codes; equal adjacent levels merge (their bound goes).
  ch.codebook.levels.push_back(static_cast<int32_t>(it.levels[0]));
  for (size_t j = 0; j < it.thresholds.size(); ++j) {
    const auto level = static_cast<int32_t>(it.levels[j + 1]);
    if (level <= ch.codebook.levels.back()) continue;
    ch.codebook.bounds.push_back(static_cast<int32_t>(it.thresholds[j]));
    ch.codebook.levels.push_back(level);
  }
  if (it.dropped > 0 || ch.codebook.levels.size() < q.levels.size())
    ch.note = str_cat(q.levels.size() - ch.codebook.levels.size(), " of ", q.levels.size(),
                      " bins collapsed on the ", grid_bits, "-bit grid");
  for (float v : w) {
    const int64_t u = quantize_code(v, ch.grid, o.rounding);
    const double d = double(v) - dequantize(ch.codebook.decode(u), ch.grid);
    ch.sq_error += d * d;
  }
  return ch;
}

ThresholdQuantizer relu_hybrid(double mean, double sd, int bits) {
  const int k = bins_of(bits);
  const double s = std::max(sd, 1e-5);
  const double p0 = normal_cdf(-mean / s);
  ThresholdQuantizer q;
  q.zero_bin = true;
  q.thresholds.push_back(0.0);
  q.levels.push_back(0.0);
  auto at = [&](double f) {  // the model quantile at fraction f of the positive part
    return std::max(0.0, mean + s * normal_quantile(std::min(p0 + (1.0 - p0) * f, 1.0 - 1e-16)));
  };
  for (int j = 1; j <= k - 2; ++j) q.thresholds.push_back(at(double(j) / (k - 1)));
  for (int j = 0; j <= k - 2; ++j) q.levels.push_back(at((j + 0.5) / (k - 1)));
  return q;
}

PreActivation pre_activation_from_relu(double p0, double positive_mean) {
  GAMMAQ_CHECK(p0 > 0 && p0 < 1 && positive_mean > 0, "pre_activation_from_relu: p0 ", p0,
               ", positive mean ", positive_mean);
  const double a = -normal_quantile(p0);  // m / s
  const double phi = std::exp(-0.5 * a * a) / std::sqrt(2.0 * std::numbers::pi);
  const double s = positive_mean / (a + phi / normal_cdf(a));
  return {a * s, s};
}

void lloyd_max(ThresholdQuantizer& q, std::span<const float> x, int iterations) {
  const size_t k = q.levels.size();
  for (int it = 0; it < iterations; ++it) {
    std::vector<double> sum(k, 0.0);
    std::vector<int64_t> n(k, 0);
    for (float v : x) {
      const auto i = static_cast<size_t>(q.index(v));
      sum[i] += v;
      ++n[i];
    }
    bool moved = false;
    for (size_t i = q.zero_bin ? 1 : 0; i < k; ++i) {
      if (n[i] == 0) continue;
      const double c = sum[i] / static_cast<double>(n[i]);
      moved = moved || c != q.levels[i];
      q.levels[i] = c;
    }
    for (size_t j = q.zero_bin ? 1 : 0; j < q.thresholds.size(); ++j)
      q.thresholds[j] = 0.5 * (q.levels[j] + q.levels[j + 1]);
    if (!moved) break;
  }
}

int IntegerThresholds::index(int64_t code) const noexcept {
  if (zero_bin && code <= thresholds[0]) return 0;
  const auto first = zero_bin ? thresholds.begin() + 1 : thresholds.begin();
  return static_cast<int>(std::upper_bound(first, thresholds.end(), code) - thresholds.begin());
}

IntegerThresholds to_integer(const ThresholdQuantizer& q, int bits, Rounding rounding) {
  std::vector<float> all;
  for (double t : q.thresholds) all.push_back(static_cast<float>(t));
  for (double l : q.levels) all.push_back(static_cast<float>(l));
  const Format f = choose_weight_format(all, bits, 4, rounding).format;
  IntegerThresholds r;
  r.frac = f.frac;
  r.zero_bin = q.zero_bin;
  r.levels.push_back(quantize_code(q.levels[0], f, rounding));
  for (size_t j = 0; j < q.thresholds.size(); ++j) {
    const int64_t t = quantize_code(q.thresholds[j], f, rounding);
    if (!r.thresholds.empty() && t <= r.thresholds.back()) {
      // The bin between this threshold and the previous one is empty on the grid: it goes,
      // and the bin above takes its place.
      ++r.dropped;
      r.levels.back() = quantize_code(q.levels[j + 1], f, rounding);
      continue;
    }
    r.thresholds.push_back(t);
    r.levels.push_back(quantize_code(q.levels[j + 1], f, rounding));
  }
  return r;
}

ThresholdStats evaluate(const ThresholdQuantizer& q, std::span<const float> x) {
  std::vector<int64_t> hist(q.levels.size(), 0);
  double signal = 0, noise = 0;
  for (float v : x) {
    const int i = q.index(v);
    ++hist[static_cast<size_t>(i)];
    const double d = static_cast<double>(v) - q.levels[static_cast<size_t>(i)];
    signal += static_cast<double>(v) * v;
    noise += d * d;
  }
  ThresholdStats s;
  for (int64_t h : hist)
    if (h > 0) {
      const double p = static_cast<double>(h) / static_cast<double>(x.size());
      s.entropy_bits -= p * std::log2(p);
    }
  s.sqnr_db = sqnr_db(signal, noise);
  return s;
}

}  // namespace gammaq::quant
