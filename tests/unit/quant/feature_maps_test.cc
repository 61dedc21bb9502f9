// Feature-map format choice end to end: statistics -> proposal -> (second pass) -> decision,
// against ALGORITHMS.md 4.5's worked example and the degenerate-case rules of 1.5 / 4.8.
#include "quant/feature_maps.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace gammaq::quant {
namespace {

// 200 000 exponential draws with mean 0.8 (kappa = 1), one "image" of 1000 values per row.
std::vector<float> exponential_samples(uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::exponential_distribution<double> d(1.0 / 0.8);
  std::vector<float> v(200000);
  for (float& x : v) x = static_cast<float>(d(rng));
  return v;
}

stats::TensorStats stats_of(const std::vector<float>& v) {
  stats::TensorStats s;
  s.add(v, 0, static_cast<int64_t>(v.size() / 1000));
  return s;
}

int choose(const std::vector<float>& v, int bits, FmMode mode) {
  const stats::TensorStats s = stats_of(v);
  FmOptions o;
  o.mode = mode;
  FmProposal p = propose_fm_format(s, bits, /*is_signed=*/true, o);
  if (p.needs_empirical) {
    std::vector<Format> cands;
    for (int f : p.candidates) cands.push_back(make_format(bits, f, true));
    EmpiricalErrors e(cands, o.rounding);
    e.add(v);
    decide_fm_format(p, e, s.energy());
  }
  EXPECT_FALSE(p.needs_empirical);
  EXPECT_FALSE(p.result.degenerate);
  EXPECT_TRUE(std::isfinite(p.result.sqnr_db));
  return p.result.format.frac;
}

TEST(FeatureMapsTest, WorkedExampleOfAlgorithm2) {
  const std::vector<float> v = exponential_samples(1);
  // ALGORITHMS.md 4.5: candidates {0, 1} at bw 4 and {4, 5} at bw 8 (signed); every mode
  // (empirical, exact model, eq. 7) chooses FL 1 and FL 4.
  for (FmMode mode : {FmMode::Default, FmMode::Fast, FmMode::FastPaper, FmMode::Exact}) {
    SCOPED_TRACE(std::string(fm_mode_name(mode)));
    EXPECT_EQ(choose(v, 4, mode), 1);
    EXPECT_EQ(choose(v, 8, mode), 4);
  }
  const stats::TensorStats s = stats_of(v);
  FmOptions o;
  const FmProposal p = propose_fm_format(s, 8, true, o);
  EXPECT_EQ(p.candidates, (std::vector<int>{4, 5}));
  EXPECT_NEAR(p.result.fit.at("kappa"), 1.0, 0.02);
}

// Normalised image pixels, x = (p/255 - 0.286)/0.353: bounded in [-0.81, 2.02], half of them
// background (exactly -0.81). The gamma fits of both sides have tails the data lack; the
// model-based modes must not pay for overload beyond the largest calibration value, so their
// choice must be as good on the data as the best format (within 10%).
TEST(FeatureMapsTest, BoundedDataModelModesMatchTheEmpiricalBest) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int> pixel(1, 255);
  std::vector<float> v(300000);
  for (size_t i = 0; i < v.size(); ++i) {
    const int p = i % 2 == 0 ? 0 : pixel(rng);
    v[i] = static_cast<float>((p / 255.0 - 0.286) / 0.353);
  }
  std::vector<Format> all;
  for (int f = 1; f <= 6; ++f) all.push_back(make_format(6, f, true));
  EmpiricalErrors e(all, Rounding::HalfEven);
  e.add(v);
  const std::vector<double>& err = e.sq_errors();
  const double best = *std::min_element(err.begin(), err.end());
  for (FmMode mode : {FmMode::Default, FmMode::Fast, FmMode::Exact}) {
    const int f = choose(v, 6, mode);
    ASSERT_GE(f, 1) << fm_mode_name(mode);
    ASSERT_LE(f, 6) << fm_mode_name(mode);
    EXPECT_LE(err[f - 1], 1.1 * best) << fm_mode_name(mode) << " chose frac " << f;
  }
}

TEST(FeatureMapsTest, AllZeroTensorIsDegenerateWithTheDocumentedFallback) {
  stats::TensorStats s;
  const std::vector<float> zeros(5000, 0.0f);
  s.add(zeros, 0, 5);
  const FmProposal p = propose_fm_format(s, 6, false, FmOptions{});
  EXPECT_TRUE(p.result.degenerate);
  EXPECT_FALSE(p.needs_empirical);
  EXPECT_EQ(p.result.format.frac, 5);  // bits - 1 (ALGORITHMS.md 1.5)
  EXPECT_NE(p.result.note.find("zero"), std::string::npos);
}

TEST(FeatureMapsTest, FewSamplesAndOneDistinctValueUseTheEmpiricalSearch) {
  stats::TensorStats few;
  const std::vector<float> v = {0.5f, 1.25f, 3.0f, 0.0f, 2.0f};
  few.add(v, 0, 1);
  const FmProposal p = propose_fm_format(few, 8, false, FmOptions{});
  EXPECT_FALSE(p.needs_empirical);  // the sample holds every value: decided exactly
  EXPECT_NE(p.result.note.find("empirical"), std::string::npos);
  // 8-bit unsigned: frac 6 represents 0.5, 1.25, 3.0 and 2.0 exactly with max 255/64 = 3.98.
  EXPECT_EQ(p.result.format.frac, 6);

  stats::TensorStats same;
  const std::vector<float> c(4000, 0.75f);
  same.add(c, 0, 4);
  const FmProposal q = propose_fm_format(same, 4, false, FmOptions{});
  EXPECT_FALSE(q.result.degenerate);
  // 4-bit unsigned: 0.75 = 12 * 2^-4 fits exactly (max 15/16).
  EXPECT_EQ(q.result.format.frac, 4);
}

TEST(FeatureMapsTest, RistrettoIsEquationEight) {
  const std::vector<float> v = exponential_samples(2);
  const stats::TensorStats s = stats_of(v);
  FmOptions o;
  o.method = "ristretto";
  const FmProposal p = propose_fm_format(s, 8, true, o);
  // frac = bits - ceil(log2 max|x|); the sample max of 200k draws lies in (8, 16).
  ASSERT_GT(s.max_abs(), 8.0);
  ASSERT_LT(s.max_abs(), 16.0);
  EXPECT_EQ(p.result.format.frac, 4);
}

}  // namespace
}  // namespace gammaq::quant
