// Threshold quantizers (ALGORITHMS.md 9): equiprobable bins under the model and on the data,
// the zero bin of the ReLU hybrid, the pre-activation recovered from post-ReLU data, Lloyd-Max
// trading entropy for SQNR, and the integer form's ordering.
#include "quant/threshold.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "quant/weights.h"

namespace gammaq::quant {
namespace {

std::vector<float> normal_sample(size_t n, double m, double s, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> d(m, s);
  std::vector<float> v;
  for (size_t i = 0; i < n; ++i) v.push_back(static_cast<float>(d(rng)));
  return v;
}

TEST(Threshold, NormalBinsAreEquiprobable) {
  EXPECT_NEAR(normal_quantile(0.975), 1.959964, 1e-6);
  EXPECT_NEAR(normal_cdf(normal_quantile(0.3)), 0.3, 1e-12);
  const std::vector<float> w = normal_sample(200000, 0.1, 0.5, 1);
  const ThresholdQuantizer q = normal_weights(0.1, 0.5, 3);
  ASSERT_EQ(q.thresholds.size(), 7u);
  ASSERT_EQ(q.levels.size(), 8u);
  std::vector<int> hist(8, 0);
  for (float v : w) ++hist[static_cast<size_t>(q.index(v))];
  for (int h : hist) EXPECT_NEAR(h / 200000.0, 1.0 / 8, 0.005);
  const ThresholdStats s = evaluate(q, w);
  EXPECT_NEAR(s.entropy_bits, 3.0, 0.01);
  // Levels lie inside their bins.
  for (size_t j = 0; j < q.thresholds.size(); ++j) {
    EXPECT_LT(q.levels[j], q.thresholds[j]);
    EXPECT_GT(q.levels[j + 1], q.thresholds[j]);
  }
  // Empirical quantiles: exactly equal bins on the data, repeated values never split.
  const ThresholdQuantizer e = empirical_weights(w, 3);
  std::vector<int> eh(e.levels.size(), 0);
  for (float v : w) ++eh[static_cast<size_t>(e.index(v))];
  for (int h : eh) EXPECT_EQ(h, 25000);
  const std::vector<float> few = {1, 1, 1, 1, 2, 3};
  const ThresholdQuantizer f = empirical_weights(few, 2);
  EXPECT_EQ(f.index(1.0), 0);
  EXPECT_LT(f.levels.size(), 4u);
}

TEST(Threshold, ReluHybridKeepsZeroExactAndRecoversThePreActivation) {
  const double m = -0.3, s = 1.2;
  std::vector<float> pre = normal_sample(200000, m, s, 2), post;
  for (float v : pre) post.push_back(std::max(v, 0.0f));
  const ThresholdQuantizer q = relu_hybrid(m, s, 3);
  EXPECT_TRUE(q.zero_bin);
  EXPECT_EQ(q.levels[0], 0.0);
  EXPECT_EQ(q.value(0.0), 0.0);
  EXPECT_EQ(q.value(-5.0), 0.0);
  EXPECT_GT(q.value(1e-6), 0.0);
  std::vector<int> hist(q.levels.size(), 0);
  int64_t positive = 0;
  for (float v : post) {
    ++hist[static_cast<size_t>(q.index(v))];
    positive += v > 0;
  }
  for (size_t i = 1; i < hist.size(); ++i)
    EXPECT_NEAR(hist[i] / double(positive), 1.0 / 7, 0.005) << i;
  // A nearly dead layer (p0 tiny) keeps its zero at zero (UNIQ's clamp would move it).
  EXPECT_EQ(relu_hybrid(10.0, 1.0, 2).value(0.0), 0.0);

  double sum = 0;
  for (float v : post)
    if (v > 0) sum += v;
  const PreActivation pa =
      pre_activation_from_relu(1.0 - positive / double(post.size()), sum / double(positive));
  EXPECT_NEAR(pa.mean, m, 0.02);
  EXPECT_NEAR(pa.sd, s, 0.02);
}

TEST(Threshold, LloydMaxTradesEntropyForSqnr) {
  const std::vector<float> w = normal_sample(50000, 0.0, 1.0, 3);
  ThresholdQuantizer q = normal_weights(0.0, 1.0, 2);
  const ThresholdStats before = evaluate(q, w);
  lloyd_max(q, w, 30);
  const ThresholdStats after = evaluate(q, w);
  EXPECT_GT(after.sqnr_db, before.sqnr_db + 0.3);
  EXPECT_LT(after.entropy_bits, before.entropy_bits);
  // The 4-level Lloyd-Max quantizer of N(0, 1): levels +-0.4528, +-1.510 (Max 1960).
  EXPECT_NEAR(q.levels[2], 0.4528, 0.02);
  EXPECT_NEAR(q.levels[3], 1.510, 0.03);
}

TEST(Threshold, IntegerFormKeepsOrderAndDropsCollapsedBins) {
  const ThresholdQuantizer q = normal_weights(0.0, 1.0, 4);
  const IntegerThresholds fine = to_integer(q, 12);
  EXPECT_EQ(fine.dropped, 0);
  EXPECT_EQ(fine.thresholds.size(), 15u);
  for (size_t j = 1; j < fine.thresholds.size(); ++j)
    EXPECT_LT(fine.thresholds[j - 1], fine.thresholds[j]);
  // Every value's integer index matches the float index away from the thresholds.
  const std::vector<float> w = normal_sample(2000, 0.0, 1.0, 4);
  const Format f = make_format(12, fine.frac, true);
  int same = 0;
  for (float v : w) same += fine.index(quantize_code(v, f, Rounding::HalfEven)) == q.index(v);
  EXPECT_GT(same, 1990);
  const IntegerThresholds coarse = to_integer(q, 3);  // 8 codes for 16 bins: some collapse
  EXPECT_GT(coarse.dropped, 0);
  EXPECT_EQ(coarse.levels.size(), coarse.thresholds.size() + 1);
  EXPECT_EQ(coarse.levels.size() + static_cast<size_t>(coarse.dropped), 16u);
  for (size_t j = 1; j < coarse.thresholds.size(); ++j)
    EXPECT_LT(coarse.thresholds[j - 1], coarse.thresholds[j]);
}

// Weights as a codebook (9.1 on the grid of 9.3): 2^bits levels whose bins hold about equal
// shares of the weights, every weight decoded through the codebook, and the reported error
// the codebook's.
TEST(Threshold, WeightCodebookIsEquiprobableOnTheGrid) {
  const std::vector<float> w = normal_sample(20000, 0.01, 0.05, 11);
  for (bool empirical : {false, true}) {
    SCOPED_TRACE(empirical ? "empirical" : "normal");
    ThresholdWeightOptions o;
    o.bits = 3;
    o.empirical = empirical;
    const NuuqChoice ch = threshold_codebook(w, o);
    EXPECT_EQ(ch.grid.bits, default_threshold_grid_bits(3));
    ASSERT_EQ(ch.codebook.levels.size(), 8u);
    std::vector<int> count(8, 0);
    double err = 0;
    for (float v : w) {
      const int64_t u = quantize_code(v, ch.grid, Rounding::HalfEven);
      ++count[static_cast<size_t>(ch.codebook.index(u))];
      const double d = v - dequantize(ch.codebook.decode(u), ch.grid);
      err += d * d;
    }
    for (int c : count) EXPECT_NEAR(c, 2500, 250);
    EXPECT_NEAR(ch.sq_error, err, 1e-9 * err);
  }
}

// The empirical hybrid: zero exact, K - 1 positive bins of equal counts.
TEST(Threshold, EmpiricalHybridSplitsThePositiveValues) {
  std::vector<float> pos;
  for (float v : normal_sample(9000, 0.0, 1.0, 5))
    if (v > 0) pos.push_back(v);
  const ThresholdQuantizer q = empirical_relu_hybrid(pos, 2);
  ASSERT_EQ(q.levels.size(), 4u);
  EXPECT_TRUE(q.zero_bin);
  EXPECT_EQ(q.value(0.0), 0.0);
  EXPECT_EQ(q.value(-1.0), 0.0);
  std::vector<int> count(4, 0);
  for (float v : pos) ++count[static_cast<size_t>(q.index(v))];
  EXPECT_EQ(count[0], 0);
  for (int k = 1; k < 4; ++k) EXPECT_NEAR(count[k], pos.size() / 3.0, 2);
  int dropped = -1;
  const Format f = threshold_format(q, 8, false, Rounding::HalfEven, &dropped);
  EXPECT_EQ(dropped, 0);
  ASSERT_TRUE(f.table);
  EXPECT_EQ(quantize_code(0.0, f, Rounding::HalfEven), 0);
  EXPECT_EQ(f.table->levels.size(), 4u);
}

}  // namespace
}  // namespace gammaq::quant
