// Weight formats: Algorithm 1 (worked example, brute-force argmin, walk-up mode, K_w example),
// Ristretto eq. (8), per-channel choice, SQNR and the degenerate / bad-input cases.
#include "quant/weights.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "gammaq/error.h"

namespace gammaq::quant {
namespace {

constexpr Rounding kModes[] = {Rounding::HalfEven, Rounding::HalfAway, Rounding::HalfUp};

// Samplers built on mt19937_64 alone (std distributions differ between standard libraries).
double uniform01(std::mt19937_64& gen) { return static_cast<double>(gen() >> 11) * 0x1p-53; }

double gaussian(std::mt19937_64& gen) {    // Box-Muller
  const double u1 = 1.0 - uniform01(gen);  // (0, 1]
  const double u2 = uniform01(gen);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

double laplace(std::mt19937_64& gen, double scale) {  // inverse CDF
  const double u = uniform01(gen) - 0.5;              // [-0.5, 0.5)
  const double mag = -scale * std::log(1.0 - 2.0 * std::fabs(u));
  return u < 0 ? -mag : mag;
}

enum class Dist { Gaussian, Laplace };

std::vector<float> sample(std::mt19937_64& gen, Dist dist, size_t n, double std_dev) {
  std::vector<float> w(n);
  for (float& v : w) {
    v = static_cast<float>(dist == Dist::Gaussian ? std_dev * gaussian(gen)
                                                  : laplace(gen, std_dev / std::sqrt(2.0)));
  }
  return w;
}

double max_abs(const std::vector<float>& w) {
  double a = 0;
  for (const float v : w) a = std::max(a, std::fabs(static_cast<double>(v)));
  return a;
}

// Smallest e with 2^e >= a, by search (independent of ceil_log2).
int ceil_log2_by_search(double a) {
  int e = -1100;
  while (std::ldexp(1.0, e) < a) ++e;
  return e;
}

// Q of ALGORITHMS 1.1 (signed, bits) written with the C library's rounding functions.
double oracle_q(double v, int bits, int frac, Rounding mode) {
  const double s = std::ldexp(v, frac);
  double r = 0;
  switch (mode) {
    case Rounding::HalfEven: r = std::nearbyint(s); break;
    case Rounding::HalfAway: r = std::round(s); break;
    case Rounding::HalfUp: r = std::floor(s + 0.5); break;  // random data: no near-tie issues
  }
  r = std::clamp(r, -std::ldexp(1.0, bits - 1), std::ldexp(1.0, bits - 1) - 1);
  return std::ldexp(r, -frac);
}

double oracle_d(const std::vector<float>& w, int bits, int frac, Rounding mode) {
  double sum = 0;
  for (const float v : w) {
    const double e = static_cast<double>(v) - oracle_q(static_cast<double>(v), bits, frac, mode);
    sum += e * e;
  }
  return sum;
}

template <typename Fn>
void expect_error(ErrorKind kind, Fn&& fn, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "no Error thrown";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind);
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

// ALGORITHMS.md section 2, worked example (bw 4, signed, half-even).
const std::vector<float> kWorked = {0.31f, -0.12f, 0.05f, -0.44f, 0.27f, 0.02f};

TEST(Algorithm1, WorkedExampleOfAlgorithmsSection2) {
  const WeightChoice c = choose_weight_format(kWorked, 4, 2, Rounding::HalfEven);
  EXPECT_EQ(c.format, (Format{4, 4, true}));
  EXPECT_FALSE(c.degenerate);
  ASSERT_EQ(c.tried.size(), 2u);
  EXPECT_EQ(c.tried[0].frac, 4);  // m = 4 - 1 - ceil(log2 0.44) = 4 - 1 + 1
  EXPECT_EQ(c.tried[1].frac, 5);
  EXPECT_NEAR(c.tried[0].sq_error, 0.000994, 5e-7);
  EXPECT_NEAR(c.tried[1].sq_error, 0.047361, 5e-7);
  EXPECT_EQ(c.sq_error, c.tried[0].sq_error);
  EXPECT_NEAR(c.sqnr_db, 25.82, 0.005);

  std::vector<float> q4 = kWorked;
  fake_quant(q4, Format{4, 4, true}, Rounding::HalfEven);
  EXPECT_EQ(q4, (std::vector<float>{0.3125f, -0.125f, 0.0625f, -0.4375f, 0.25f, 0.0f}));
  std::vector<float> q5 = kWorked;
  fake_quant(q5, Format{4, 5, true}, Rounding::HalfEven);
  EXPECT_EQ(q5, (std::vector<float>{0.21875f, -0.125f, 0.0625f, -0.25f, 0.21875f, 0.03125f}));
  EXPECT_NEAR(sqnr_db(kWorked, q4), 25.82, 0.005);
  EXPECT_NEAR(sqnr_db(kWorked, q5), 9.04, 0.005);
  EXPECT_NEAR(sq_error(kWorked, Format{4, 5, true}, Rounding::HalfEven), 0.047361, 5e-7);

  // No value is a tie, so every mode agrees; a wider window still picks FL 4.
  for (const Rounding mode : kModes) {
    const WeightChoice wide = choose_weight_format(kWorked, 4, 4, mode);
    EXPECT_EQ(wide.format.frac, 4) << rounding_name(mode);
    EXPECT_EQ(wide.tried.size(), 4u);
  }
  EXPECT_EQ(ristretto_weight_format(kWorked, 4), (Format{4, 4, true}));
}

// Algorithm 1 equals the brute-force argmin over m .. m + window - 1 (ties -> smaller FL), with
// D computed by an independent quantizer, on seeded Gaussian and Laplace tensors.
TEST(Algorithm1, EqualsBruteForceArgmin) {
  int above_m = 0;
  for (int bits = 2; bits <= 16; ++bits) {
    for (const Dist dist : {Dist::Gaussian, Dist::Laplace}) {
      for (const int window : {1, 2, 3, 4, 6}) {
        const uint64_t seed =
            static_cast<uint64_t>(bits * 1000 + window * 10) + (dist == Dist::Laplace ? 1 : 0);
        std::mt19937_64 gen(seed);
        const double std_dev = std::ldexp(0.05, static_cast<int>(gen() % 7) - 3);
        const std::vector<float> w = sample(gen, dist, 257, std_dev);
        const Rounding mode = kModes[seed % 3];
        const std::string repro = str_cat("seed ", seed, " bits ", bits, " window ", window,
                                          " std ", std_dev, " ", rounding_name(mode));
        const int m = bits - 1 - ceil_log2_by_search(max_abs(w));
        int best = m;
        double best_d = oracle_d(w, bits, m, mode);
        for (int frac = m + 1; frac < m + window; ++frac) {
          const double d = oracle_d(w, bits, frac, mode);
          if (d < best_d) {
            best = frac;
            best_d = d;
          }
        }
        const WeightChoice c = choose_weight_format(w, bits, window, mode);
        EXPECT_EQ(c.format, (Format{bits, best, true})) << repro;
        EXPECT_DOUBLE_EQ(c.sq_error, best_d) << repro;
        ASSERT_EQ(c.tried.size(), static_cast<size_t>(window)) << repro;
        for (int i = 0; i < window; ++i) {
          EXPECT_EQ(c.tried[static_cast<size_t>(i)].frac, m + i) << repro;
          EXPECT_DOUBLE_EQ(c.tried[static_cast<size_t>(i)].sq_error, oracle_d(w, bits, m + i, mode))
              << repro;
        }
        if (best > m) ++above_m;
      }
    }
  }
  EXPECT_GT(above_m, 20);  // the search matters: often something other than m wins
}

// window 0: walk up from m while D strictly decreases; the first local minimum.
TEST(Algorithm1, WalkUpStopsAtTheFirstLocalMinimum) {
  for (int bits = 2; bits <= 16; ++bits) {
    std::mt19937_64 gen(static_cast<uint64_t>(500 + bits));
    const std::vector<float> w =
        sample(gen, bits % 2 == 0 ? Dist::Laplace : Dist::Gaussian, 1000, 0.02);
    const int m = bits - 1 - ceil_log2_by_search(max_abs(w));
    int frac = m;
    double d = oracle_d(w, bits, m, Rounding::HalfEven);
    for (;;) {
      const double next = oracle_d(w, bits, frac + 1, Rounding::HalfEven);
      if (!(next < d)) break;
      ++frac;
      d = next;
    }
    const WeightChoice c = choose_weight_format(w, bits, 0, Rounding::HalfEven);
    EXPECT_EQ(c.format.frac, frac) << "seed " << 500 + bits << " bits " << bits;
    EXPECT_DOUBLE_EQ(c.sq_error, d) << "bits " << bits;
    // Tried m .. frac plus the one non-improving candidate.
    ASSERT_EQ(c.tried.size(), static_cast<size_t>(frac - m + 2)) << "bits " << bits;
    EXPECT_EQ(c.tried.back().frac, frac + 1);
  }
  // The worked example stops at once: D(5) > D(4).
  const WeightChoice c = choose_weight_format(kWorked, 4, 0, Rounding::HalfEven);
  EXPECT_EQ(c.format.frac, 4);
  EXPECT_EQ(c.tried.size(), 2u);
}

// ALGORITHMS 2 notes: 4608 Laplace weights, std 0.02, bw 4, m = 5: D(m) > D(m+1) > D(m+2), so
// K_w = 2 misses m + 2. The sample is random: draw until max|w| > 0.125 (m = 5, as in the notes;
// otherwise m = 6 and the same FL 7 is m + 1) and assert the ordering only.
TEST(Algorithm1, TwoCandidatesMissTheBestFracOnLaplaceWeightsAtFourBits) {
  int samples = 0;
  for (uint64_t seed = 1; samples < 4 && seed < 100; ++seed) {
    std::mt19937_64 gen(seed);
    const std::vector<float> w = sample(gen, Dist::Laplace, 4608, 0.02);
    if (!(max_abs(w) > 0.125)) continue;
    ++samples;
    const WeightChoice k2 = choose_weight_format(w, 4, 2, Rounding::HalfEven);
    const WeightChoice k3 = choose_weight_format(w, 4, 3, Rounding::HalfEven);
    ASSERT_EQ(k3.tried.size(), 3u);
    EXPECT_EQ(k3.tried[0].frac, 5) << "seed " << seed;
    EXPECT_GT(k3.tried[0].sq_error, k3.tried[1].sq_error) << "seed " << seed;
    EXPECT_GT(k3.tried[1].sq_error, k3.tried[2].sq_error) << "seed " << seed;
    EXPECT_EQ(k2.format.frac, 6) << "seed " << seed;
    EXPECT_EQ(k3.format.frac, 7) << "seed " << seed;
    EXPECT_EQ(choose_weight_format(w, 4, 4, Rounding::HalfEven).format.frac, 7) << "seed " << seed;
    EXPECT_EQ(choose_weight_format(w, 4, 0, Rounding::HalfEven).format.frac, 7) << "seed " << seed;
    EXPECT_LT(k2.sqnr_db, k3.sqnr_db) << "seed " << seed;
  }
  EXPECT_EQ(samples, 4);
}

// bw 2, m = 2 - 1 - ceil(log2 0.8125) = 1. FL 1: -1.625 -> -2 (-1.0, err 0.1875^2) and
// -0.5 -> 0 (err 0.25^2); FL 2: -3.25 -> -3, clamped to -2 (-0.5, err 0.3125^2) and -1 exact.
// Both D = 0.09765625: the tie goes to the smaller FL, in both search modes.
TEST(Algorithm1, TiesGoToTheSmallerFrac) {
  const std::vector<float> w = {-0.8125f, -0.25f};
  for (const int window : {2, 0}) {
    const WeightChoice c = choose_weight_format(w, 2, window, Rounding::HalfEven);
    EXPECT_EQ(c.format, (Format{2, 1, true})) << "window " << window;
    ASSERT_EQ(c.tried.size(), 2u);
    EXPECT_EQ(c.tried[0], (FracScore{1, 0.09765625}));
    EXPECT_EQ(c.tried[1], (FracScore{2, 0.09765625}));
  }
}

TEST(Algorithm1, AllZeroOrEmptyTensorIsDegenerate) {
  for (const std::vector<float>& w :
       {std::vector<float>(10, 0.0f), std::vector<float>{}, std::vector<float>{0.0f, -0.0f}}) {
    const WeightChoice c = choose_weight_format(w, 8, 4, Rounding::HalfEven);
    EXPECT_TRUE(c.degenerate);
    EXPECT_EQ(c.format, (Format{8, 7, true}));
    EXPECT_EQ(c.sq_error, 0.0);
    EXPECT_TRUE(std::isnan(c.sqnr_db));
    EXPECT_TRUE(c.tried.empty());
    EXPECT_EQ(ristretto_weight_format(w, 8), (Format{8, 7, true}));
  }
}

TEST(Algorithm1, ExactTensorHasInfiniteSqnr) {
  // m = 8 - 1 + 1 = 8, range [-0.5, 0.49609375]: all exact (+0.5 would saturate by one LSB).
  const std::vector<float> w = {-0.5f, 0.375f, 0.125f};
  const WeightChoice c = choose_weight_format(w, 8, 2, Rounding::HalfEven);
  EXPECT_EQ(c.format.frac, 8);
  EXPECT_EQ(c.sq_error, 0.0);
  EXPECT_EQ(c.sqnr_db, std::numeric_limits<double>::infinity());
  EXPECT_FALSE(c.degenerate);
}

TEST(Algorithm1, CandidatesAreClampedToTheFracRange) {
  const std::vector<float> tiny = {1e-30f, -3e-31f};  // m = 7 + 99 = 106 > 64
  const WeightChoice c = choose_weight_format(tiny, 8, 4, Rounding::HalfEven);
  EXPECT_EQ(c.format.frac, 64);
  ASSERT_EQ(c.tried.size(), 1u);
  const std::vector<float> huge = {1e30f};  // m = 7 - 100 = -93: m .. m + 3 all below -64
  EXPECT_EQ(choose_weight_format(huge, 8, 4, Rounding::HalfEven).format.frac, -64);
  EXPECT_EQ(ristretto_weight_format(tiny, 8).frac, 64);
  EXPECT_EQ(ristretto_weight_format(huge, 8).frac, -64);
}

TEST(Algorithm1, RejectsBadOptionsAndNonFiniteWeights) {
  expect_error(
      ErrorKind::InvalidOption,
      [] { (void)choose_weight_format(kWorked, 4, -1, Rounding::HalfEven); }, "window -1");
  expect_error(
      ErrorKind::InvalidOption,
      [] { (void)choose_weight_format(kWorked, 1, 2, Rounding::HalfEven); }, "bits 1");
  expect_error(
      ErrorKind::InvalidOption,
      [] { (void)choose_weight_format(kWorked, 17, 2, Rounding::HalfEven); }, "bits 17");
  expect_error(
      ErrorKind::InvalidOption, [] { (void)ristretto_weight_format(kWorked, 17); }, "bits 17");
  std::vector<float> bad = kWorked;
  bad[2] = std::numeric_limits<float>::quiet_NaN();
  expect_error(
      ErrorKind::InvalidData, [&] { (void)choose_weight_format(bad, 4, 2, Rounding::HalfEven); },
      "element 2");
  bad[2] = -std::numeric_limits<float>::infinity();
  expect_error(
      ErrorKind::InvalidData, [&] { (void)ristretto_weight_format(bad, 4); }, "element 2");
}

TEST(Sqnr, HandValues) {
  EXPECT_DOUBLE_EQ(sqnr_db(100.0, 1.0), 20.0);
  EXPECT_DOUBLE_EQ(sqnr_db(1.0, 1000.0), -30.0);
  EXPECT_EQ(sqnr_db(1.0, 0.0), std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(sqnr_db(0.0, 1.0)));
  EXPECT_TRUE(std::isnan(sqnr_db(0.0, 0.0)));
  const std::vector<float> ref = {3.0f, 4.0f};
  EXPECT_NEAR(sqnr_db(ref, std::vector<float>{3.0f, 3.0f}), 13.979400086720376, 1e-12);  // 25/1
  EXPECT_EQ(sqnr_db(ref, ref), std::numeric_limits<double>::infinity());
  const std::vector<float> zero = {0.0f, 0.0f};
  EXPECT_TRUE(std::isnan(sqnr_db(zero, ref)));
  EXPECT_THROW((void)sqnr_db(ref, std::vector<float>{1.0f}), InternalError);
}

// From spans vs from energies summed here: the two must agree.
TEST(Sqnr, SpansAndEnergiesAgree) {
  std::mt19937_64 gen(31337);
  for (int trial = 0; trial < 50; ++trial) {
    const std::vector<float> ref = sample(gen, Dist::Gaussian, 1000, 1.0);
    std::vector<float> approx = ref;
    const double noise_std = std::ldexp(1.0, -static_cast<int>(gen() % 20));
    for (float& v : approx) v += static_cast<float>(noise_std * gaussian(gen));
    double signal = 0;
    double noise = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
      signal += static_cast<double>(ref[i]) * ref[i];
      const double d = static_cast<double>(ref[i]) - approx[i];
      noise += d * d;
    }
    const double from_spans = sqnr_db(ref, approx);
    EXPECT_NEAR(from_spans, sqnr_db(signal, noise), 1e-9) << "seed 31337 trial " << trial;
    EXPECT_NEAR(from_spans, -10.0 * std::log10(noise / signal), 1e-9) << "trial " << trial;
  }
}

TEST(Ristretto, ActivationRuleHasOneIntegerBitLessThanTheWeightRule) {
  const Format s = ristretto_activation_format(5.0, 8, true);  // ALGORITHMS 1.3 example
  EXPECT_EQ(s, (Format{8, 5, true}));
  EXPECT_EQ(s.max_value(), 3.96875);  // clips above ~half of 2^ceil(log2 5)
  const Format u = ristretto_activation_format(5.0, 8, false);
  EXPECT_EQ(u, (Format{8, 5, false}));
  EXPECT_EQ(u.max_value(), 7.96875);                             // no clipping unsigned
  EXPECT_EQ(ristretto_activation_format(4.0, 8, true).frac, 6);  // exact power of two
  EXPECT_EQ(ristretto_activation_format(0.0, 8, false), (Format{8, 7, false}));
  EXPECT_EQ(ristretto_activation_format(1e-30, 8, true).frac, 64);  // 8 + 99, clamped
  EXPECT_EQ(ristretto_activation_format(1e30, 8, true).frac, -64);  // 8 - 100, clamped
  const std::vector<float> w = {1.0f, -0.3f};
  EXPECT_EQ(ristretto_weight_format(w, 8), (Format{8, 7, true}));  // 1.0 saturates by one LSB
  EXPECT_THROW((void)ristretto_activation_format(-1.0, 8, true), InternalError);
  EXPECT_THROW((void)ristretto_activation_format(NAN, 8, true), InternalError);
  expect_error(
      ErrorKind::InvalidOption, [] { (void)ristretto_activation_format(1.0, 1, true); }, "bits 1");
}

// Channels whose scales differ by 100x get fracs about log2(100) = 6.6 apart; each channel's
// choice is Algorithm 1 on its own slice.
TEST(PerChannel, ScalesDifferingByAHundredGiveFracsAboutSevenApart) {
  constexpr size_t kRest = 3 * 3 * 16;
  std::mt19937_64 gen(2718);
  const std::vector<float> base = sample(gen, Dist::Gaussian, kRest, 1.0);
  std::vector<float> w;
  for (const double scale : {1.0, 0.01, 1e-4, 1e-6}) {
    for (const float v : base) w.push_back(static_cast<float>(v * scale));
  }
  for (const int bits : {4, 8}) {
    const std::vector<WeightChoice> c =
        choose_weight_format_per_channel(w, 4, bits, 4, Rounding::HalfEven);
    ASSERT_EQ(c.size(), 4u);
    for (size_t ch = 0; ch < 4; ++ch) {
      const std::span<const float> slice = std::span<const float>(w).subspan(ch * kRest, kRest);
      const WeightChoice alone = choose_weight_format(slice, bits, 4, Rounding::HalfEven);
      EXPECT_EQ(c[ch].format, alone.format) << "channel " << ch;
      EXPECT_EQ(c[ch].tried, alone.tried) << "channel " << ch;
      if (ch > 0) {
        const int gap = c[ch].format.frac - c[ch - 1].format.frac;
        EXPECT_GE(gap, 6) << "bits " << bits << " channel " << ch;
        EXPECT_LE(gap, 7) << "bits " << bits << " channel " << ch;
      }
    }
  }
  // One channel is the per-tensor choice; a shape mismatch is a bug.
  const auto one = choose_weight_format_per_channel(kWorked, 1, 4, 2, Rounding::HalfEven);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].format, (Format{4, 4, true}));
  EXPECT_THROW((void)choose_weight_format_per_channel(kWorked, 4, 4, 2, Rounding::HalfEven),
               InternalError);
  EXPECT_THROW((void)choose_weight_format_per_channel(kWorked, 0, 4, 2, Rounding::HalfEven),
               InternalError);
}

}  // namespace
}  // namespace gammaq::quant
