#include "stats/tensor_stats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace gammaq::stats {
namespace {

std::vector<float> relu_like(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.2f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = std::max(0.0f, d(rng));
  return v;
}

TEST(TensorStatsTest, MomentsSplitBySignExcludeZerosByHand) {
  TensorStats s;
  const std::vector<float> v = {0.0f, 1.0f, 3.0f, -2.0f, 0.0f, -4.0f};  // one image
  s.add(v, 0, 1);
  EXPECT_EQ(s.total(), 6);
  EXPECT_EQ(s.zeros(), 2);
  EXPECT_EQ(s.positive().count, 2);
  EXPECT_DOUBLE_EQ(s.positive().mean(), 2.0);
  EXPECT_DOUBLE_EQ(s.positive().variance(), 1.0);
  EXPECT_EQ(s.negative().count, 2);
  EXPECT_DOUBLE_EQ(s.negative().mean(), 3.0);
  EXPECT_DOUBLE_EQ(s.negative().variance(), 1.0);
  EXPECT_DOUBLE_EQ(s.max_abs(), 4.0);
  EXPECT_DOUBLE_EQ(s.energy(), 1 + 9 + 4 + 16);
  EXPECT_FALSE(s.one_sided());
  EXPECT_EQ(s.sample().size(), 4u);
}

TEST(TensorStatsTest, NonFiniteValuesAreCountedNotUsed) {
  TensorStats s;
  const std::vector<float> v = {1.0f, NAN, 2.0f, INFINITY};  // two images of two values
  s.add(v, 10, 2);
  EXPECT_EQ(s.nonfinite(), 2);
  EXPECT_EQ(s.first_nonfinite_image(), 10);
  EXPECT_EQ(s.positive().count, 2);
  EXPECT_EQ(s.total(), 2);
}

TEST(TensorStatsTest, MergeOfShardsEqualsOnePass) {
  const int64_t per_image = 300, images = 40;
  const std::vector<float> all = relu_like(per_image * images, 3);
  TensorStats whole(500);
  whole.add(all, 0, images);
  // Shards of 7 and 33 images, themselves added in uneven batches.
  TensorStats a(500), b(500);
  std::span<const float> span(all);
  a.add(span.subspan(0, 3 * per_image), 0, 3);
  a.add(span.subspan(3 * per_image, 4 * per_image), 3, 4);
  b.add(span.subspan(7 * per_image), 7, images - 7);
  a.merge(b);
  EXPECT_EQ(a.total(), whole.total());
  EXPECT_EQ(a.zeros(), whole.zeros());
  EXPECT_EQ(a.positive().count, whole.positive().count);
  EXPECT_NEAR(a.positive().sum, whole.positive().sum, 1e-12 * whole.positive().sum);
  EXPECT_NEAR(a.positive().sum_sq, whole.positive().sum_sq, 1e-12 * whole.positive().sum_sq);
  EXPECT_EQ(a.positive().max, whole.positive().max);
  // The bottom-k sample is exactly the same set, in the same order.
  EXPECT_EQ(a.sample(), whole.sample());
  EXPECT_EQ(a.sample().size(), 500u);
}

TEST(TensorStatsTest, SampleDoesNotDependOnBatchSizeAndMemoryIsBounded) {
  const int64_t per_image = 100;
  const std::vector<float> all = relu_like(per_image * 64, 5);
  TensorStats one(64), eight(64);
  for (int64_t i = 0; i < 64; ++i)
    one.add(std::span<const float>(all).subspan(i * per_image, per_image), i, 1);
  for (int64_t i = 0; i < 64; i += 8)
    eight.add(std::span<const float>(all).subspan(i * per_image, 8 * per_image), i, 8);
  EXPECT_EQ(one.sample(), eight.sample());
  EXPECT_EQ(one.sample_entries().size(), 64u);
}

TEST(TensorStatsTest, LogMomentsOfKnownValues) {
  SideMoments m;
  // Values arrive as floats, so their logs are exact to float precision (1e-7).
  for (double x : {1.0, std::exp(1.0), std::exp(2.0)}) m.add(static_cast<float>(x));
  EXPECT_NEAR(m.mean_log(), 1.0, 1e-6);
  EXPECT_NEAR(m.variance_log(), 2.0 / 3.0, 1e-6);
  EXPECT_NEAR(m.skewness_log(), 0.0, 1e-5);  // symmetric log values
}

}  // namespace
}  // namespace gammaq::stats
