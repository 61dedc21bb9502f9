// The feature-map method table (quant/methods/): every method on known data, ACIQ's constants
// against ALGORITHMS.md 11.1's table, degenerate tensors and bad options.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

#include "gammaq/error.h"
#include "quant/methods/method.h"

namespace gammaq::quant {
namespace {

stats::TensorStats stats_of(const std::vector<float>& v) {
  stats::TensorStats s;
  s.add(v, 0, 1);
  return s;
}

FmProposal run(const std::string& method, const std::vector<float>& v, int bits, bool is_signed,
               FmOptions o = {}) {
  o.method = method;
  return propose_fm_format(stats_of(v), bits, is_signed, o);
}

TEST(FmMethods, TableNamesEveryMethodOnce) {
  std::set<std::string_view> seen;
  for (const FmMethod& m : fm_methods()) {
    EXPECT_TRUE(seen.insert(m.name).second) << m.name;
    EXPECT_EQ(find_fm_method(m.name), &m);
    EXPECT_NE(fm_method_names().find(m.name), std::string::npos);
  }
  EXPECT_GE(seen.size(), 6u);
  EXPECT_EQ(find_fm_method("kl-typo"), nullptr);
  try {
    (void)run("nope", {1.0f}, 8, true);
    FAIL() << "unknown method accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidOption);
    EXPECT_NE(std::string(e.what()).find("ggd, ristretto"), std::string::npos) << e.what();
  }
}

// ALGORITHMS.md 11.1: "ours" rows, M = 1..8.
TEST(FmMethods, AciqConstantsMatchTheTable) {
  const double laplace[] = {1.8628, 2.8307, 3.8972, 5.0286, 6.2048, 7.4131, 8.6456, 9.8968};
  const double gauss[] = {1.2399, 1.7106, 2.1516, 2.5591, 2.9362, 3.2869, 3.6151, 3.9240};
  for (int m = 1; m <= 8; ++m) {
    EXPECT_NEAR(aciq_laplace_alpha(m), laplace[m - 1], 1e-4) << m;
    EXPECT_NEAR(aciq_gauss_alpha(m), gauss[m - 1], 1e-4) << m;
  }
}

TEST(FmMethods, MaxThresholdIsTheLargestMagnitude) {
  const FmProposal p = run("max", {0.5f, -3.0f, 1.0f, 2.0f}, 8, true);
  EXPECT_DOUBLE_EQ(p.result.fit.at("threshold"), 3.0);
  EXPECT_DOUBLE_EQ(p.result.fit.at("float_scale"), 3.0 / 127.0);
  // 3/127 lies between 2^-6 and 2^-5: the coarser frac 5 clips nothing, 6 clips at 127/64.
  ASSERT_EQ(p.result.candidates.size(), 2u);  // decided at once: the sample holds every value
  EXPECT_EQ(p.result.candidates[0].first, 5);
  EXPECT_EQ(p.result.candidates[1].first, 6);
  EXPECT_FALSE(p.needs_empirical);
}

TEST(FmMethods, PercentileCountsZerosUnlessAskedNot) {
  std::vector<float> v;
  for (int i = 1; i <= 10000; ++i) v.push_back(static_cast<float>(i));
  FmOptions o;
  o.percentile = 99.0;
  // Order statistics 1..10000, position 0.99 * 9999 = 9899.01.
  EXPECT_NEAR(run("percentile", v, 8, false, o).result.fit.at("threshold"), 9900.01, 1e-6);
  v.insert(v.end(), 10000, 0.0f);  // half the values are zeros
  o.percentile = 75.0;             // 75% of all values: the median of the non-zero ones
  EXPECT_NEAR(run("percentile", v, 8, false, o).result.fit.at("threshold"), 5000.5, 1e-6);
  o.percentile_nonzero = true;
  EXPECT_NEAR(run("percentile", v, 8, false, o).result.fit.at("threshold"), 7500.25, 1e-6);
  o.percentile_nonzero = false;
  o.percentile = 40.0;  // inside the zeros: the non-zero values' percentile, with a note
  const FmProposal p = run("percentile", v, 8, false, o);
  EXPECT_NEAR(p.result.fit.at("threshold"), 4000.6, 1e-6);
  EXPECT_NE(p.result.note.find("is 0"), std::string::npos) << p.result.note;
  for (double bad : {0.0, -1.0, 100.5, std::nan("")}) {
    o.percentile = bad;
    EXPECT_THROW((void)run("percentile", v, 8, false, o), Error) << bad;
  }
}

// On Laplace data ACIQ's Laplace threshold is about alpha*(M) b.
TEST(FmMethods, AciqRecoversTheLaplaceScale) {
  std::mt19937 rng(3);
  std::exponential_distribution<double> e(1.0 / 0.5);  // b = 0.5
  std::vector<float> v;
  for (int i = 0; i < 20000; ++i) v.push_back(static_cast<float>((i % 2 ? 1 : -1) * e(rng)));
  FmOptions o;
  o.aciq = "laplace";
  const FmProposal p = run("aciq", v, 4, true, o);
  EXPECT_NEAR(p.result.fit.at("b"), 0.5, 0.02);
  EXPECT_NEAR(p.result.fit.at("threshold_laplace"), aciq_laplace_alpha(4) * 0.5, 0.15);
  EXPECT_EQ(p.result.fit.count("threshold_gauss"), 0u);
  o.aciq = "mix";  // both models' candidates, the smaller error kept
  const FmProposal mix = run("aciq", v, 4, true, o);
  EXPECT_EQ(mix.result.fit.count("threshold_gauss"), 1u);
  o.aciq = "cauchy";
  EXPECT_THROW((void)run("aciq", v, 4, true, o), Error);
}

// mse: the window [FL_max, FL_max + bits], the chosen frac the one of least squared error.
TEST(FmMethods, MseTakesTheLeastErrorOfTheWindow) {
  std::mt19937 rng(4);
  std::normal_distribution<double> n(0.0, 1.0);
  std::vector<float> v;
  for (int i = 0; i < 5000; ++i) v.push_back(static_cast<float>(n(rng)));
  const FmProposal p = run("mse", v, 4, true);
  ASSERT_EQ(p.result.candidates.size(), 5u);
  double best = INFINITY;
  int frac = 0;
  for (const auto& [f, err] : p.result.candidates) {
    double e = 0.0;
    for (float x : v) {
      const double d =
          x - fake_quant(static_cast<double>(x), make_format(4, f, true), Rounding::HalfEven);
      e += d * d;
    }
    EXPECT_NEAR(err, e, 1e-9 * e) << f;
    if (e < best) best = e, frac = f;
  }
  EXPECT_EQ(p.result.format.frac, frac);
}

// KL on histograms: a uniform one is best unclipped; a bulk with far outliers is clipped just
// above the bulk.
TEST(FmMethods, KlClipsOutliersNotTheBulk) {
  EXPECT_EQ(kl_best_bins(std::vector<uint64_t>(2048, 10), 128), 2048);
  std::vector<uint64_t> h(2048, 0);
  for (int j = 0; j < 300; ++j) h[static_cast<size_t>(j)] = 1000 - 3 * j;
  h[2000] = 2;
  const int best = kl_best_bins(h, 128);
  EXPECT_GE(best, 128);
  EXPECT_LT(best, 400);
}

// The two paths agree: deciding now on the whole sample, and deciding after a second pass
// that built the histogram (statistics keeping a small sample).
TEST(FmMethods, KlSecondPassEqualsTheDirectDecision) {
  std::mt19937 rng(5);
  std::normal_distribution<double> n(0.0, 1.0);
  std::vector<float> v;
  for (int i = 0; i < 20000; ++i) v.push_back(static_cast<float>(n(rng)));
  v.push_back(40.0f);  // one outlier
  const FmProposal direct = run("kl", v, 6, true);
  ASSERT_FALSE(direct.needs_empirical);
  stats::TensorStats small(100);
  small.add(v, 0, 1);
  FmOptions o;
  o.method = "kl";
  FmProposal p = propose_fm_format(small, 6, true, o);
  ASSERT_TRUE(p.needs_empirical);
  ASSERT_EQ(p.histogram_bins, 2048);
  std::vector<Format> cands;
  for (int f : p.candidates) cands.push_back(make_format(6, f, true));
  EmpiricalErrors e(cands, Rounding::HalfEven);
  e.enable_histogram(p.histogram_bins, p.histogram_max, p.histogram_skip_zeros);
  e.add(v);
  decide_fm_format(p, e, small.energy());
  EXPECT_EQ(p.result.fit.at("kl_bins"), direct.result.fit.at("kl_bins"));
  EXPECT_DOUBLE_EQ(p.result.fit.at("threshold"), direct.result.fit.at("threshold"));
  EXPECT_EQ(p.result.format, direct.result.format);
  EXPECT_LT(p.result.fit.at("threshold"), 10.0);  // the outlier is clipped
  // Above 8 bits kl is mse, with a note.
  EXPECT_NE(run("kl", v, 10, true).result.note.find("mse instead"), std::string::npos);
}

// adlq (ALGORITHMS.md 10): candidates from the distribution's thresholds, decided by the error
// the next layer sees when the caller propagates it, else by the tensor's own error.
TEST(FmMethods, AdlqChoosesByThePropagatedError) {
  std::mt19937 rng(11);
  std::exponential_distribution<double> ex(1.0);
  std::vector<float> v;
  for (int i = 0; i < 5000; ++i) v.push_back(static_cast<float>(ex(rng)));
  v.push_back(30.0f);
  FmOptions o;
  o.method = "adlq";
  FmProposal p = propose_fm_format(stats_of(v), 4, false, o);
  ASSERT_TRUE(p.needs_empirical);
  EXPECT_TRUE(p.propagate);
  EXPECT_DOUBLE_EQ(p.result.fit.at("t_p100"), 30.0);
  // Every threshold's fracs are candidates (11.5), and nothing else.
  std::set<int> expected;
  for (const auto& [key, t] : p.result.fit) {
    ActivationFormat scratch;
    for (int f : threshold_fracs(t, 4, false, scratch, true)) expected.insert(f);
  }
  EXPECT_EQ(std::set<int>(p.candidates.begin(), p.candidates.end()), expected);
  ASSERT_GE(p.candidates.size(), 3u);
  std::vector<Format> cands;
  for (int f : p.candidates) cands.push_back(make_format(4, f, false));

  // A next layer that amplifies large errors (clipping) a thousandfold: the frac it prefers,
  // found here by brute force, is not the one of least squared error.
  const Propagate sum_map = [](std::span<const float> e) {
    double s = 0;
    for (float x : e) s += (std::fabs(x) > 0.5f ? 1000.0 : 1.0) * static_cast<double>(x) * x;
    return s;
  };
  size_t want = 0, own = 0;
  std::vector<double> by_sum, by_own;
  for (const Format& f : cands) {
    std::vector<float> e(v.size());
    double sq = 0;
    for (size_t i = 0; i < v.size(); ++i) {
      e[i] =
          static_cast<float>(fake_quant(static_cast<double>(v[i]), f, Rounding::HalfEven)) - v[i];
      sq += static_cast<double>(e[i]) * e[i];
    }
    by_sum.push_back(sum_map(e));
    by_own.push_back(sq);
  }
  for (size_t k = 1; k < cands.size(); ++k) {
    if (by_sum[k] < by_sum[want]) want = k;
    if (by_own[k] < by_own[own]) own = k;
  }
  ASSERT_NE(want, own) << "the data should make the two criteria disagree";

  EmpiricalErrors e(cands, Rounding::HalfEven);
  e.enable_propagation([&] { return sum_map; });
  e.add(std::span<const float>(v).first(2000));  // two shards, merged
  EmpiricalErrors rest = e.empty_like();
  rest.add(std::span<const float>(v).subspan(2000));
  e.merge(rest);
  FmProposal chosen = p;
  decide_fm_format(chosen, e, stats_of(v).energy());
  EXPECT_EQ(chosen.result.format.frac, cands[want].frac);
  EXPECT_NE(chosen.result.note.find("pre-activation"), std::string::npos);
  EXPECT_GT(chosen.result.fit.at("float_scale"), 0.0);

  // Without propagation: the tensor's own squared error.
  EmpiricalErrors plain(cands, Rounding::HalfEven);
  plain.add(v);
  FmProposal fallback = p;
  decide_fm_format(fallback, plain, stats_of(v).energy());
  EXPECT_EQ(fallback.result.format.frac, cands[own].frac);
  EXPECT_NE(fallback.result.note.find("own squared error"), std::string::npos);
}

// --no-clip-below-T: a threshold maps to the coarser frac alone.
TEST(FmMethods, NoClipBelowThresholdKeepsTheCoarserStep) {
  ActivationFormat r;
  EXPECT_EQ(threshold_fracs(3.0, 8, true, r, true), (std::vector<int>{5, 6}));
  EXPECT_EQ(threshold_fracs(3.0, 8, true, r, false), (std::vector<int>{5}));
  std::vector<float> v;
  for (int i = 1; i <= 1000; ++i) v.push_back(static_cast<float>(i) / 1000.0f * 3.0f);
  FmOptions o;
  o.clip_below_t = false;
  for (const char* m : {"max", "percentile"}) {
    const FmProposal p = run(m, v, 8, true, o);
    ASSERT_FALSE(p.needs_empirical) << m;
    EXPECT_EQ(p.result.candidates.size(), 1u) << m;
    EXPECT_LE(p.result.fit.at("threshold"), p.result.format.max_value() + 1e-12) << m;
  }
}

// Degenerate tensors: every method gives a finite format, never NaN.
TEST(FmMethods, DegenerateTensorsGetAFormat) {
  for (const FmMethod& m : fm_methods()) {
    for (const std::vector<float>& v :
         {std::vector<float>(100, 0.0f), std::vector<float>(100, 3.0f),
          std::vector<float>{0.0f, 0.0f, 1e-30f}}) {
      const FmProposal p = run(std::string(m.name), v, 6, true);
      EXPECT_GE(p.result.format.frac, kMinFrac) << m.name;
      EXPECT_LE(p.result.format.frac, kMaxFrac) << m.name;
      for (const auto& [k, x] : p.result.fit) EXPECT_TRUE(std::isfinite(x)) << m.name << " " << k;
    }
  }
}

// threshold / threshold-emp (ALGORITHMS.md 9): a post-ReLU tensor gets the hybrid table -- the
// exact-zero bin and K - 1 positive bins of about equal mass, so the code entropy is close to
// H(p0) + (1 - p0) log2(K - 1) -- and a non-negative tensor without zeros the documented
// fallback with a warning.
TEST(FmMethods, ThresholdTablesFollowTheData) {
  std::mt19937 rng(3);
  std::normal_distribution<float> d(0.3f, 1.0f);
  std::vector<float> v;
  for (int i = 0; i < 40000; ++i) v.push_back(std::max(0.0f, d(rng)));
  double zeros = 0;
  for (float x : v) zeros += x == 0.0f;
  const double p0 = zeros / static_cast<double>(v.size());
  const double ideal =
      -p0 * std::log2(p0) - (1 - p0) * std::log2(1 - p0) + (1 - p0) * std::log2(15);
  for (const char* m : {"threshold", "threshold-emp"}) {
    SCOPED_TRACE(m);
    const FmProposal p = run(m, v, 4, false);
    ASSERT_TRUE(p.result.format.table);
    const ThresholdTable& t = *p.result.format.table;
    EXPECT_TRUE(t.zero_bin);
    EXPECT_EQ(t.levels.size(), 16u);
    EXPECT_EQ(t.levels[0], 0);
    EXPECT_FALSE(p.result.degenerate);
    const stats::TensorStats st = stats_of(v);
    EXPECT_NEAR(code_entropy_bits(st, st.sample(), p.result.format, Rounding::HalfEven), ideal,
                0.1);
    EXPECT_GT(p.result.sqnr_db, 10.0);
    if (std::string(m) == "threshold") {
      // 9.4.2 recovers the pre-activation N(0.3, 1) from the zero fraction and positive mean.
      EXPECT_NEAR(p.result.fit.at("pre_mean"), 0.3, 0.05);
      EXPECT_NEAR(p.result.fit.at("pre_sd"), 1.0, 0.05);
    }
  }
  std::vector<float> positive;
  for (float x : v)
    if (x > 0) positive.push_back(x);
  const FmProposal f = run("threshold", positive, 4, false);
  EXPECT_TRUE(f.result.degenerate);
  EXPECT_NE(f.result.note.find("9.4.2"), std::string::npos) << f.result.note;
  ASSERT_TRUE(f.result.format.table);
}

}  // namespace
}  // namespace gammaq::quant
