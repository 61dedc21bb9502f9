// Dynamic fixed point: format ranges, exact ceil log2, rounding ties, quantize / dequantize
// properties, and integer requantization against the exact rational definition.
#include "quant/format.h"

#include <gtest/gtest.h>

#include <cfenv>
#include <climits>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gammaq/error.h"

namespace gammaq::quant {
namespace {

constexpr Rounding kModes[] = {Rounding::HalfEven, Rounding::HalfAway, Rounding::HalfUp};
constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kI64Min = std::numeric_limits<int64_t>::min();

// Uniform in [0, 1) from the top 53 bits (std::uniform_real_distribution is not portable).
double uniform01(std::mt19937_64& gen) { return static_cast<double>(gen() >> 11) * 0x1p-53; }

// Uniform integer in [lo, hi] (small ranges only).
int64_t uniform_int(std::mt19937_64& gen, int64_t lo, int64_t hi) {
  return lo + static_cast<int64_t>(gen() % static_cast<uint64_t>(hi - lo + 1));
}

void expect_invalid_option(auto&& fn, const std::vector<std::string>& needles) {
  try {
    fn();
    ADD_FAILURE() << "no Error thrown";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidOption);
    const std::string msg = e.what();
    for (const std::string& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << msg;
  }
}

TEST(Rounding, NamesRoundTrip) {
  EXPECT_EQ(rounding_name(Rounding::HalfEven), "half_even");
  EXPECT_EQ(rounding_name(Rounding::HalfAway), "half_away");
  EXPECT_EQ(rounding_name(Rounding::HalfUp), "half_up");
  for (const Rounding mode : kModes) EXPECT_EQ(parse_rounding(rounding_name(mode)), mode);
}

TEST(Rounding, ParseRejectsUnknownNamesNamingValueAndChoices) {
  expect_invalid_option([] { (void)parse_rounding("nearest"); },
                        {"nearest", "half_even", "half_away", "half_up"});
  expect_invalid_option([] { (void)parse_rounding(""); }, {"half_even"});
  expect_invalid_option([] { (void)parse_rounding("HALF_EVEN"); }, {"HALF_EVEN"});
}

TEST(Format, CodeRangesByHand) {
  EXPECT_EQ((Format{8, 0, true}.qmin()), -128);
  EXPECT_EQ((Format{8, 0, true}.qmax()), 127);
  EXPECT_EQ((Format{8, 0, false}.qmin()), 0);
  EXPECT_EQ((Format{8, 0, false}.qmax()), 255);
  EXPECT_EQ((Format{2, 0, true}.qmin()), -2);
  EXPECT_EQ((Format{2, 0, true}.qmax()), 1);
  EXPECT_EQ((Format{2, 0, false}.qmax()), 3);
  EXPECT_EQ((Format{16, 0, true}.qmin()), -32768);
  EXPECT_EQ((Format{16, 0, true}.qmax()), 32767);
  EXPECT_EQ((Format{16, 0, false}.qmax()), 65535);
}

TEST(Format, StepAndRangeByHand) {
  const Format f85{8, 5, true};  // ALGORITHMS 1.3: max 127/32
  EXPECT_EQ(f85.step(), 0.03125);
  EXPECT_EQ(f85.min_value(), -4.0);
  EXPECT_EQ(f85.max_value(), 3.96875);
  const Format f44{4, 4, true};  // ALGORITHMS 2 table, FL 4: [-0.5, 0.4375]
  EXPECT_EQ(f44.step(), 0.0625);
  EXPECT_EQ(f44.min_value(), -0.5);
  EXPECT_EQ(f44.max_value(), 0.4375);
  const Format f45{4, 5, true};  // FL 5: [-0.25, 0.21875]
  EXPECT_EQ(f45.min_value(), -0.25);
  EXPECT_EQ(f45.max_value(), 0.21875);
  const Format neg{4, -2, false};  // step 4, codes 0..15
  EXPECT_EQ(neg.step(), 4.0);
  EXPECT_EQ(neg.min_value(), 0.0);
  EXPECT_EQ(neg.max_value(), 60.0);
  EXPECT_EQ((Format{16, 64, true}.step()), 0x1p-64);
  EXPECT_EQ((Format{16, -64, true}.max_value()), 32767 * 0x1p64);
}

TEST(Format, MakeFormatValidatesBitsAndClampsFrac) {
  EXPECT_EQ(make_format(2, 1, true), (Format{2, 1, true}));
  EXPECT_EQ(make_format(16, -3, false), (Format{16, -3, false}));
  expect_invalid_option([] { (void)make_format(1, 0, true); }, {"bits 1: must be in 2..16"});
  expect_invalid_option([] { (void)make_format(17, 0, false); }, {"bits 17: must be in 2..16"});
  expect_invalid_option([] { (void)make_format(0, 0, true); }, {"bits 0"});
  expect_invalid_option([] { (void)make_format(-8, 0, true); }, {"bits -8"});
  EXPECT_EQ(make_format(8, 64, true).frac, 64);
  EXPECT_EQ(make_format(8, 65, true).frac, 64);
  EXPECT_EQ(make_format(8, -64, true).frac, -64);
  EXPECT_EQ(make_format(8, -65, true).frac, -64);
  EXPECT_EQ(make_format(8, INT_MAX, true).frac, 64);
  EXPECT_EQ(make_format(8, INT_MIN, true).frac, -64);
}

TEST(CeilLog2, PowersOfTwoAndTheirNeighbours) {
  for (int k = -1074; k <= 1023; ++k) {
    const double p = std::ldexp(1.0, k);
    EXPECT_EQ(ceil_log2(p), k) << "2^" << k;
    EXPECT_EQ(ceil_log2(std::nextafter(p, INFINITY)), k + 1) << "just above 2^" << k;
    // Below 2^-1073 the next double down is 2^-1074 itself.
    if (k > -1073) {
      EXPECT_EQ(ceil_log2(std::nextafter(p, 0.0)), k) << "just below 2^" << k;
    }
  }
}

TEST(CeilLog2, HandValuesAndSubnormals) {
  EXPECT_EQ(ceil_log2(1.0), 0);
  EXPECT_EQ(ceil_log2(0.44), -1);  // ALGORITHMS 2 worked example
  EXPECT_EQ(ceil_log2(0.3), -1);
  EXPECT_EQ(ceil_log2(5.0), 3);
  EXPECT_EQ(ceil_log2(3.0), 2);
  EXPECT_EQ(ceil_log2(0.03), -5);                                 // 2^-6 = 0.015625 < 0.03 <= 2^-5
  const double tiny = std::numeric_limits<double>::denorm_min();  // 2^-1074
  EXPECT_EQ(ceil_log2(tiny), -1074);
  EXPECT_EQ(ceil_log2(2 * tiny), -1073);
  EXPECT_EQ(ceil_log2(3 * tiny), -1072);
  EXPECT_EQ(ceil_log2(std::numeric_limits<double>::min()), -1022);
  EXPECT_EQ(ceil_log2(std::nextafter(std::numeric_limits<double>::min(), 0.0)), -1022);
  EXPECT_EQ(ceil_log2(std::numeric_limits<double>::max()), 1024);
  EXPECT_EQ(ceil_log2(static_cast<double>(std::numeric_limits<float>::denorm_min())), -149);
}

TEST(CeilLog2, NonPositiveOrNonFiniteIsABug) {
  EXPECT_THROW((void)ceil_log2(0.0), InternalError);
  EXPECT_THROW((void)ceil_log2(-1.0), InternalError);
  EXPECT_THROW((void)ceil_log2(NAN), InternalError);
  EXPECT_THROW((void)ceil_log2(INFINITY), InternalError);
}

struct TieCase {
  double x;
  int64_t even, away, up;
};

TEST(RoundScaled, TiesFollowTheMode) {
  const TieCase cases[] = {
      {2.5, 2, 3, 3},
      {-2.5, -2, -3, -2},
      {0.5, 0, 1, 1},
      {-0.5, 0, -1, 0},
      {1.5, 2, 2, 2},
      {-1.5, -2, -2, -1},
      {3.5, 4, 4, 4},
      {-3.5, -4, -4, -3},
      {127.5, 128, 128, 128},
      // 2^51 + 0.5 is a double (spacing 0.5 below 2^52); 2^51 is even.
      {0x1p51 + 0.5, int64_t{1} << 51, (int64_t{1} << 51) + 1, (int64_t{1} << 51) + 1},
      {-0x1p51 - 0.5, -(int64_t{1} << 51), -(int64_t{1} << 51) - 1, -(int64_t{1} << 51)},
  };
  for (const TieCase& c : cases) {
    EXPECT_EQ(round_scaled(c.x, Rounding::HalfEven), c.even) << c.x;
    EXPECT_EQ(round_scaled(c.x, Rounding::HalfAway), c.away) << c.x;
    EXPECT_EQ(round_scaled(c.x, Rounding::HalfUp), c.up) << c.x;
  }
}

TEST(RoundScaled, NonTiesGoToTheNearestIntegerInEveryMode) {
  const std::pair<double, int64_t> cases[] = {
      {std::nextafter(2.5, 0.0), 2},
      {std::nextafter(2.5, 3.0), 3},
      {std::nextafter(-2.5, 0.0), -2},
      {std::nextafter(-2.5, -3.0), -3},
      {0.49999999999999994, 0},  // floor(x + 0.5) would give 1
      {-0.49999999999999994, 0},
      {0.0, 0},
      {-0.0, 0},
      {7.0, 7},
      {-7.0, -7},
      {0x1p60, int64_t{1} << 60},
      {-0x1p63, kI64Min},
      {0.7, 1},
      {-0.7, -1},
  };
  for (const auto& [x, want] : cases) {
    for (const Rounding mode : kModes) {
      EXPECT_EQ(round_scaled(x, mode), want) << x << " " << rounding_name(mode);
    }
  }
}

// Oracles from the C library: nearbyint (ties to even under FE_TONEAREST), round (ties away),
// and for half-up ceil on exact ties (x - trunc(x) is exact for both signs) else nearbyint.
TEST(RoundScaled, MatchesTheCLibraryOnRandomValuesNearTies) {
  ASSERT_EQ(std::fegetround(), FE_TONEAREST);
  std::mt19937_64 gen(9001);
  for (int i = 0; i < 20000; ++i) {
    const double k =
        std::floor(std::ldexp(uniform01(gen), static_cast<int>(uniform_int(gen, 0, 51))));
    double x = k + 0.5;
    const int64_t ulps = uniform_int(gen, -2, 2);  // the tie itself and its neighbours
    for (int64_t u = 0; u < std::abs(ulps); ++u) x = std::nextafter(x, ulps > 0 ? INFINITY : 0.0);
    if ((gen() & 1) != 0) x = -x;
    const double up = std::fabs(x - std::trunc(x)) == 0.5 ? std::ceil(x) : std::nearbyint(x);
    EXPECT_EQ(round_scaled(x, Rounding::HalfEven), static_cast<int64_t>(std::nearbyint(x))) << x;
    EXPECT_EQ(round_scaled(x, Rounding::HalfAway), static_cast<int64_t>(std::round(x))) << x;
    EXPECT_EQ(round_scaled(x, Rounding::HalfUp), static_cast<int64_t>(up)) << x;
  }
}

TEST(RoundScaled, NanIsZeroAndOverflowSaturates) {
  for (const Rounding mode : kModes) {
    EXPECT_EQ(round_scaled(NAN, mode), 0);
    EXPECT_EQ(round_scaled(INFINITY, mode), kI64Max);
    EXPECT_EQ(round_scaled(-INFINITY, mode), kI64Min);
    EXPECT_EQ(round_scaled(1e300, mode), kI64Max);
    EXPECT_EQ(round_scaled(-1e300, mode), kI64Min);
    EXPECT_EQ(round_scaled(0x1p63, mode), kI64Max);
  }
}

TEST(Quantize, TiesOnTheGridFollowTheMode) {
  const Format f{8, 1, true};  // 1.25 * 2 = 2.5 is a tie
  EXPECT_EQ(quantize_code(1.25, f, Rounding::HalfEven), 2);
  EXPECT_EQ(quantize_code(1.25, f, Rounding::HalfAway), 3);
  EXPECT_EQ(quantize_code(1.25, f, Rounding::HalfUp), 3);
  EXPECT_EQ(quantize_code(-1.25, f, Rounding::HalfEven), -2);
  EXPECT_EQ(quantize_code(-1.25, f, Rounding::HalfAway), -3);
  EXPECT_EQ(quantize_code(-1.25, f, Rounding::HalfUp), -2);
  EXPECT_EQ(fake_quant(1.25, f, Rounding::HalfEven), 1.0);
  EXPECT_EQ(fake_quant(1.25, f, Rounding::HalfAway), 1.5);
  EXPECT_EQ(fake_quant(-1.25, f, Rounding::HalfUp), -1.0);
}

TEST(Quantize, HandValues) {
  const Format f85{8, 5, true};
  EXPECT_EQ(quantize_code(0.1, f85, Rounding::HalfEven), 3);    // 3.2
  EXPECT_EQ(quantize_code(5.0, f85, Rounding::HalfEven), 127);  // ALGORITHMS 1.3: clips
  EXPECT_EQ(fake_quant(5.0, f85, Rounding::HalfEven), 3.96875);
  EXPECT_EQ(quantize_code(-5.0, f85, Rounding::HalfEven), -128);
  EXPECT_EQ(quantize_code(-0.3, Format{8, 5, false}, Rounding::HalfEven), 0);
  const Format neg{4, -2, false};
  EXPECT_EQ(fake_quant(13.0, neg, Rounding::HalfEven), 12.0);  // 3.25 -> 3
  EXPECT_EQ(fake_quant(14.0, neg, Rounding::HalfEven), 16.0);  // 3.5 -> 4
  EXPECT_EQ(fake_quant(10.0, neg, Rounding::HalfEven), 8.0);   // 2.5 -> 2
  EXPECT_EQ(fake_quant(1000.0, neg, Rounding::HalfEven), 60.0);
  EXPECT_EQ(dequantize(-128, Format{8, 7, true}), -1.0);
  EXPECT_EQ(dequantize(3, neg), 12.0);
  for (const Rounding mode : kModes) {
    EXPECT_EQ(quantize_code(NAN, f85, mode), 0);
    EXPECT_EQ(quantize_code(INFINITY, f85, mode), 127);
    EXPECT_EQ(quantize_code(-INFINITY, f85, mode), -128);
    EXPECT_EQ(quantize_code(1e300, Format{16, 64, true}, mode), 32767);
    EXPECT_EQ(quantize_code(-1e-300, Format{16, -64, true}, mode), 0);
  }
  std::vector<float> x = {NAN, INFINITY, -0.3f};
  fake_quant(x, f85, Rounding::HalfEven);
  EXPECT_EQ(x, (std::vector<float>{0.0f, 3.96875f, -0.3125f}));  // -9.6 -> -10
}

// Random formats (bits 2..16, frac -8..24, both signednesses) and values in and around the range.
TEST(Quantize, HalfStepErrorInsideTheRangeExactSaturationOutside) {
  std::mt19937_64 gen(20240601);
  for (int trial = 0; trial < 3000; ++trial) {
    const Format f{static_cast<int>(uniform_int(gen, 2, 16)),
                   static_cast<int>(uniform_int(gen, -8, 24)), (trial & 1) == 0};
    const Rounding mode = kModes[trial % 3];
    const double lo = f.min_value();
    const double hi = f.max_value();
    const std::string repro = str_cat("seed 20240601 trial ", trial, " bits ", f.bits, " frac ",
                                      f.frac, " signed ", f.is_signed, " ", rounding_name(mode));
    for (int i = 0; i < 20; ++i) {
      const double inside = lo + (hi - lo) * uniform01(gen);
      const int64_t q = quantize_code(inside, f, mode);
      ASSERT_GE(q, f.qmin()) << repro;
      ASSERT_LE(q, f.qmax()) << repro;
      EXPECT_LE(std::fabs(inside - dequantize(q, f)), f.step() / 2) << repro << " x " << inside;
      const double above = hi + (hi - lo + 1.0) * 1000.0 * uniform01(gen);
      EXPECT_EQ(quantize_code(above, f, mode), f.qmax()) << repro << " x " << above;
      EXPECT_EQ(fake_quant(above, f, mode), hi) << repro;
      const double below = lo - (hi - lo + 1.0) * 1000.0 * uniform01(gen);
      EXPECT_EQ(quantize_code(below, f, mode), f.qmin()) << repro << " x " << below;
      EXPECT_EQ(fake_quant(below, f, mode), lo) << repro;
    }
    EXPECT_EQ(quantize_code(hi, f, mode), f.qmax()) << repro;
    EXPECT_EQ(quantize_code(lo, f, mode), f.qmin()) << repro;
  }
}

// Idempotence, and the float version stores exactly the double result for |frac| <= 64.
TEST(Quantize, FakeQuantIsIdempotentAndExactInFloat) {
  std::mt19937_64 gen(77);
  for (int trial = 0; trial < 2000; ++trial) {
    const Format f = make_format(static_cast<int>(uniform_int(gen, 2, 16)),
                                 static_cast<int>(uniform_int(gen, -64, 64)), (trial & 1) == 0);
    const Rounding mode = kModes[trial % 3];
    const std::string repro = str_cat("seed 77 trial ", trial, " bits ", f.bits, " frac ", f.frac,
                                      " signed ", f.is_signed, " ", rounding_name(mode));
    // Values spread over the format's range and well beyond it on both sides.
    std::vector<float> x(16);
    for (float& v : x) {
      const double mag =
          std::ldexp(uniform01(gen), f.bits - f.frac + static_cast<int>(uniform_int(gen, -20, 3)));
      v = static_cast<float>((gen() & 1) != 0 ? mag : -mag);
    }
    std::vector<float> y = x;
    fake_quant(y, f, mode);
    for (size_t i = 0; i < x.size(); ++i) {
      const double once = fake_quant(static_cast<double>(x[i]), f, mode);
      EXPECT_EQ(static_cast<double>(y[i]), once) << repro << " x " << x[i];
      EXPECT_EQ(fake_quant(once, f, mode), once) << repro << " x " << x[i];
    }
    std::vector<float> z = y;
    fake_quant(z, f, mode);
    EXPECT_EQ(z, y) << repro;
  }
}

// The requantization oracle: the exact rational acc * 2^-shift, held exactly in a long double
// with a 64-bit (or wider) significand, clamped, then rounded by the C library's own rules.
int64_t oracle_requantize(int64_t acc, int shift, const Format& out, Rounding mode) {
  const long double x = std::ldexp(static_cast<long double>(acc), -shift);
  const auto lo = static_cast<long double>(out.qmin());
  const auto hi = static_cast<long double>(out.qmax());
  if (x <= lo) return out.qmin();
  if (x >= hi) return out.qmax();
  long double r = 0;
  switch (mode) {
    case Rounding::HalfEven: r = std::nearbyint(x); break;  // FE_TONEAREST: ties to even
    case Rounding::HalfAway: r = std::round(x); break;
    case Rounding::HalfUp: r = std::floor(x + 0.5L); break;  // exact: |x| <= 2^16 here
  }
  return static_cast<int64_t>(r);
}

TEST(Requantize, HandValues) {
  const Format s8 = make_format(8, 0, true);
  struct Case {
    int64_t acc;
    int shift;
    int64_t even, away, up;
  };
  const Case cases[] = {
      {5, 1, 2, 3, 3},      // 2.5
      {-5, 1, -2, -3, -2},  // -2.5
      {6, 2, 2, 2, 2},      // 1.5
      {-6, 2, -2, -2, -1},  // -1.5
      {10, 2, 2, 3, 3},     // 2.5
      {7, 2, 2, 2, 2},      // 1.75
      {-7, 2, -2, -2, -2},  // -1.75
      {9, 2, 2, 2, 2},      // 2.25
      {-9, 2, -2, -2, -2},  // -2.25
      {3, -3, 24, 24, 24},  // exact left shift
      {-3, -3, -24, -24, -24},
      {1000, 0, 127, 127, 127},
      {-1000, 0, -128, -128, -128},
      {63, -1, 126, 126, 126},
      {64, -1, 127, 127, 127},  // 128 saturates
      {-64, -1, -128, -128, -128},
      {-65, -1, -128, -128, -128},
      {253, 1, 126, 127, 127},      // 126.5
      {255, 1, 127, 127, 127},      // 127.5 -> 128 saturates
      {-257, 1, -128, -128, -128},  // -128.5 -> -128 or -129, both saturate to -128
      {kI64Min, 63, -1, -1, -1},
      {kI64Max, 63, 1, 1, 1},   // 1 - 2^-63
      {kI64Min, 64, 0, -1, 0},  // exactly -0.5
      {kI64Max, 64, 0, 0, 0},
      {kI64Min, 65, 0, 0, 0},
      {kI64Max, 1000, 0, 0, 0},
      {kI64Min, 0, -128, -128, -128},
      {1, -100, 127, 127, 127},
      {-1, -100, -128, -128, -128},
      {0, INT_MIN, 0, 0, 0},
      {kI64Max, INT_MIN, 127, 127, 127},
      {0, INT_MAX, 0, 0, 0},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(requantize(c.acc, c.shift, s8, Rounding::HalfEven), c.even)
        << c.acc << " " << c.shift;
    EXPECT_EQ(requantize(c.acc, c.shift, s8, Rounding::HalfAway), c.away)
        << c.acc << " " << c.shift;
    EXPECT_EQ(requantize(c.acc, c.shift, s8, Rounding::HalfUp), c.up) << c.acc << " " << c.shift;
  }
  const Format u8 = make_format(8, 0, false);
  const Format s16 = make_format(16, 0, true);
  for (const Rounding mode : kModes) {
    EXPECT_EQ(requantize(-5, 1, u8, mode), 0);
    EXPECT_EQ(requantize(511, 1, u8, mode), 255);                                     // 255.5
    EXPECT_EQ(requantize(509, 1, u8, mode), mode == Rounding::HalfEven ? 254 : 255);  // 254.5
    EXPECT_EQ(requantize(1, -14, s16, mode), 16384);
    EXPECT_EQ(requantize(1, -15, s16, mode), 32767);
    EXPECT_EQ(requantize(-1, -15, s16, mode), -32768);
    EXPECT_EQ(requantize(-1, -16, s16, mode), -32768);
  }
}

TEST(Requantize, EqualsTheExactRationalDefinition) {
  if constexpr (std::numeric_limits<long double>::digits < 64) {
    GTEST_SKIP() << "the oracle needs a long double with a 64-bit significand";
  }
  ASSERT_EQ(std::fegetround(), FE_TONEAREST);
  std::mt19937_64 gen(4242);
  const Format formats[] = {make_format(8, 0, true),   make_format(8, 3, false),
                            make_format(16, -2, true), make_format(4, 5, false),
                            make_format(2, 1, true),   make_format(16, 0, false)};
  int ties = 0;
  for (const Rounding mode : kModes) {
    for (int shift = -8; shift <= 40; ++shift) {
      for (const Format& out : formats) {
        std::vector<int64_t> accs = {0, 1, -1, kI64Max, kI64Min};
        for (int i = 0; i < 40; ++i) {
          const int64_t q = uniform_int(gen, out.qmin() - 4, out.qmax() + 4);
          if (shift > 0) {
            // q * 2^shift plus a remainder: 0, the tie h, h +- 1, the largest, or random.
            const int64_t one = int64_t{1} << shift;
            const int64_t h = one / 2;
            const int64_t rems[] = {
                0,     h,       h - 1,
                h + 1, one - 1, static_cast<int64_t>(gen() % static_cast<uint64_t>(one))};
            accs.push_back(q * one + rems[i % 6]);
          } else {
            accs.push_back(q >> -shift);  // around the saturation points after the left shift
            accs.push_back((q >> -shift) + 1);
          }
          accs.push_back(static_cast<int64_t>(gen()));  // full int64 range
          accs.push_back(static_cast<int64_t>(gen()) >> uniform_int(gen, 1, 62));
        }
        for (const int64_t acc : accs) {
          const std::string repro =
              str_cat("seed 4242 acc ", acc, " shift ", shift, " bits ", out.bits, " signed ",
                      out.is_signed, " ", rounding_name(mode));
          const int64_t got = requantize(acc, shift, out, mode);
          ASSERT_EQ(got, oracle_requantize(acc, shift, out, mode)) << repro;
          if (shift > 0 && (static_cast<uint64_t>(acc) & ((uint64_t{1} << shift) - 1)) ==
                               (uint64_t{1} << (shift - 1))) {
            ++ties;
          }
          // The same through quantize_code: value acc * 2^-(shift + out.frac) in out's units is
          // exact in double when |acc| <= 2^53.
          if (acc >= -(int64_t{1} << 53) && acc <= (int64_t{1} << 53)) {
            const double v = std::ldexp(static_cast<double>(acc), -(shift + out.frac));
            ASSERT_EQ(got, quantize_code(v, out, mode)) << repro;
          }
        }
      }
    }
  }
  EXPECT_GT(ties, 1000);  // the sweep really exercises the tie rules
}

}  // namespace
}  // namespace gammaq::quant

namespace gammaq::quant {
namespace {

// The vectorised span fake_quant must equal the scalar definition element by element,
// on random values, exact ties and out-of-range values, for every rounding mode.
// Average pooling's rounding: R(num * 2^-shift / den) against long double division (exact
// enough here: a non-tie quotient of these small integers is at least 1/(2 den 2^shift) from
// a tie, and ties are exactly representable), every rounding mode, both saturation ends.
TEST(RequantizeRatio, MatchesRationalOracle) {
  std::mt19937_64 gen(5150);
  int ties = 0;
  for (int trial = 0; trial < 200000; ++trial) {
    const int64_t num = static_cast<int64_t>(uniform_int(gen, -(1 << 20), 1 << 20));
    const int64_t den = static_cast<int64_t>(uniform_int(gen, 1, 60));
    const int shift = static_cast<int>(uniform_int(gen, -6, 12));
    const Format out = make_format(static_cast<int>(uniform_int(gen, 2, 16)), 0, (trial & 1) == 0);
    const Rounding mode = kModes[trial % 3];
    const long double x = std::ldexp(static_cast<long double>(num), -shift) / den;
    int64_t want = 0;
    if (x <= out.qmin()) {
      want = out.qmin();
    } else if (x >= out.qmax()) {
      want = out.qmax();
    } else {
      switch (mode) {
        case Rounding::HalfEven: want = static_cast<int64_t>(std::nearbyint(x)); break;
        case Rounding::HalfAway: want = static_cast<int64_t>(std::round(x)); break;
        case Rounding::HalfUp: want = static_cast<int64_t>(std::floor(x + 0.5L)); break;
      }
    }
    ties += x - std::floor(x) == 0.5L;
    ASSERT_EQ(requantize_ratio(num, den, shift, out, mode), want)
        << num << " / " << den << " * 2^" << -shift << " " << rounding_name(mode) << " bits "
        << out.bits << " signed " << out.is_signed;
    if (den == 1) {
      ASSERT_EQ(requantize_ratio(num, 1, shift, out, mode), requantize(num, shift, out, mode));
    }
  }
  EXPECT_GT(ties, 1000) << "the draw must hit ties for the tie rules to be tested";
}

// Accumulator-precision biases: exact in float, the code as fine as 24 bits allow.
TEST(AccumulatorBias, FloatExactAndFinest) {
  std::mt19937_64 gen(99);
  for (int trial = 0; trial < 20000; ++trial) {
    const double b = std::ldexp(uniform01(gen) - 0.5, static_cast<int>(uniform_int(gen, -12, 12)));
    const int frac = static_cast<int>(uniform_int(gen, -4, 40));
    const AccumulatorBias a = accumulator_bias(b, frac, Rounding::HalfEven);
    ASSERT_LT(std::llabs(a.code), int64_t{1} << 24);
    const double v = a.value(frac);
    ASSERT_EQ(static_cast<double>(static_cast<float>(v)), v) << "exact in float";
    ASSERT_EQ(std::ldexp(v, frac), static_cast<double>(a.accumulator()))
        << "on the accumulator grid";
    if (a.shift == 0) {
      ASSERT_EQ(a.code, round_scaled(std::ldexp(b, frac), Rounding::HalfEven));
    } else {  // one bit finer would not fit
      ASSERT_GE(std::llabs(round_scaled(std::ldexp(b, frac - a.shift + 1), Rounding::HalfEven)),
                int64_t{1} << 24);
    }
  }
}

TEST(FakeQuantSpan, EqualsScalarDefinition) {
  std::mt19937 rng(4242);
  std::uniform_real_distribution<float> u(-20.0f, 20.0f);
  for (Rounding r : {Rounding::HalfEven, Rounding::HalfAway, Rounding::HalfUp}) {
    for (int bits : {2, 4, 6, 8, 16}) {
      for (bool is_signed : {true, false}) {
        // The float fast path covers |frac| <= 100; +-101 take the double path.
        for (int frac : {-101, -100, -3, 0, 2, 5, 12, 100, 101}) {
          const Format f = make_format(bits, frac, is_signed);
          std::vector<float> v(70000);
          const int spread = std::abs(frac) > 12 ? -frac : 0;  // values around the grid
          for (size_t i = 0; i < v.size(); ++i)
            v[i] = i % 3 == 0 ? static_cast<float>(std::ldexp(
                                    static_cast<double>(static_cast<int>(u(rng)) * 2 + 1),
                                    -frac - 1))  // ties
                              : std::ldexp(u(rng), spread);
          const float specials[] = {std::nanf(""),
                                    std::numeric_limits<float>::infinity(),
                                    -std::numeric_limits<float>::infinity(),
                                    std::numeric_limits<float>::max(),
                                    -std::numeric_limits<float>::max(),
                                    std::numeric_limits<float>::denorm_min(),
                                    -std::numeric_limits<float>::min(),
                                    -0.0f};
          std::copy(std::begin(specials), std::end(specials), v.begin());
          std::vector<float> got = v;
          fake_quant(std::span<float>(got), f, r);
          for (size_t i = 0; i < v.size(); ++i)
            ASSERT_EQ(got[i], static_cast<float>(fake_quant(static_cast<double>(v[i]), f, r)))
                << "value " << v[i] << " bits " << bits << " frac " << frac << " signed "
                << is_signed << " rounding " << rounding_name(r);
        }
      }
    }
  }
}

// A threshold table on a format (ALGORITHMS.md 9.3): the index of an accumulator value (any
// shift, either sign, ratios for average pooling) equals the index of its exact rational value
// in the simulation, and the zero bin's strict comparison keeps 0 (and everything below) at 0.
TEST(ThresholdTable, IntegerComparatorsEqualTheExactValue) {
  auto t = std::make_shared<ThresholdTable>();
  t->thresholds = {0, 3, 7, 8, 20};
  t->levels = {0, 2, 5, 7, 12, 25};
  t->zero_bin = true;
  const Format f(6, 2, false, t);
  // Hand values: v * 2^2 against the thresholds (the first strictly).
  EXPECT_EQ(quantize_code(0.0, f, Rounding::HalfEven), 0);
  EXPECT_EQ(quantize_code(-3.0, f, Rounding::HalfEven), 0);
  EXPECT_EQ(quantize_code(0.01, f, Rounding::HalfEven), 2);  // just above 0: bin 1
  EXPECT_EQ(quantize_code(0.75, f, Rounding::HalfEven), 5);  // 3 reached: bin 2
  EXPECT_EQ(quantize_code(0.7499, f, Rounding::HalfEven), 2);
  EXPECT_EQ(quantize_code(100.0, f, Rounding::HalfEven), 25);
  EXPECT_EQ(fake_quant(1.9, f, Rounding::HalfEven), 7 * 0.25);  // 7.6 in [7, 8): bin 3
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int64_t> acc(-5000, 5000);
  for (int shift = -6; shift <= 40; ++shift)
    for (int i = 0; i < 400; ++i) {
      const int64_t a = shift > 20 ? acc(rng) << 24 : acc(rng);
      // The value acc 2^-shift in grid units, as a real number (exact in double).
      const double exact = std::ldexp(static_cast<double>(a), -shift - f.frac);
      ASSERT_EQ(requantize(a, shift, f, Rounding::HalfEven),
                quantize_code(exact, f, Rounding::HalfEven))
          << a << " >> " << shift;
      for (int64_t den : {1, 3, 9}) {
        // num / den against the thresholds, decided exactly on integers.
        const int64_t got = requantize_ratio(a, den, shift, f, Rounding::HalfEven);
        int want = 0;
        for (size_t k = 0; k < t->thresholds.size(); ++k) {
          // a 2^-shift / den >= T (k > 0), > T (k == 0), compared in long double exactly enough
          const long double lhs = std::ldexp(static_cast<long double>(a), -shift);
          const long double rhs = static_cast<long double>(t->thresholds[k]) * den;
          if (k == 0 ? lhs > rhs : lhs >= rhs) want = static_cast<int>(k) + 1;
        }
        ASSERT_EQ(got, t->levels[static_cast<size_t>(want)])
            << a << " / " << den << " >> " << shift;
      }
    }
  // Huge shifts and accumulators decide by sign alone, without overflow.
  EXPECT_EQ(requantize(INT64_MAX, -70, f, Rounding::HalfEven), 25);
  EXPECT_EQ(requantize(INT64_MIN, 90, f, Rounding::HalfEven), 0);
  EXPECT_EQ(requantize(1, 90, f, Rounding::HalfEven), 2);  // tiny but positive
  // The span path equals the scalar one; formats with different tables differ.
  std::vector<float> v = {-1.0f, 0.0f, 0.3f, 0.75f, 1.9f, 5.0f, 1e9f};
  std::vector<float> got = v;
  fake_quant(std::span<float>(got), f, Rounding::HalfEven);
  for (size_t i = 0; i < v.size(); ++i)
    EXPECT_EQ(got[i], static_cast<float>(fake_quant(double(v[i]), f, Rounding::HalfEven)));
  auto t2 = std::make_shared<ThresholdTable>(*t);
  EXPECT_EQ(Format(6, 2, false, t2), f);
  t2->levels[5] = 26;
  EXPECT_NE(Format(6, 2, false, t2), f);
  EXPECT_NE(Format(6, 2, false), f);
}

}  // namespace
}  // namespace gammaq::quant
