// NUUQ (ALGORITHMS.md 8): the dynamic programme is the exact optimum over Q-subsets of the grid
// (checked by brute force), the options hold (zero level, mirrored levels), Lloyd never beats
// it, the decode is the one the error was measured with, and the storage figures of 8.3.
#include "quant/nuuq.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <random>

#include "gammaq/error.h"
#include "quant/weights.h"

namespace gammaq::quant {
namespace {

std::vector<float> laplace(size_t n, uint32_t seed, double scale) {
  std::mt19937 rng(seed);
  std::exponential_distribution<double> e(1.0 / scale);
  std::bernoulli_distribution sign(0.5);
  std::vector<float> w;
  for (size_t i = 0; i < n; ++i) w.push_back(static_cast<float>(sign(rng) ? e(rng) : -e(rng)));
  return w;
}

// The least error over every Q-subset of the grid codes (each weight takes, with its whole
// grid cell, the subset's level of least error for the cell), at the grid `g`.
double brute_force(const std::vector<float>& w, const Format& g, int q, bool need_zero,
                   Rounding r) {
  std::map<int64_t, std::vector<double>> cells;
  for (float v : w) cells[quantize_code(v, g, r)].push_back(v);
  std::vector<int64_t> grid;
  for (int64_t u = g.qmin(); u <= g.qmax(); ++u) grid.push_back(u);
  double best = std::numeric_limits<double>::infinity();
  std::vector<int64_t> pick;
  std::function<void(size_t)> rec = [&](size_t from) {
    if (static_cast<int>(pick.size()) == q) {
      if (need_zero && std::find(pick.begin(), pick.end(), 0) == pick.end()) return;
      double cost = 0;
      for (const auto& [u, vs] : cells) {
        double cell = std::numeric_limits<double>::infinity();
        for (int64_t c : pick) {
          double e = 0;
          for (double v : vs) {
            const double d = v - std::ldexp(static_cast<double>(c), -g.frac);
            e += d * d;
          }
          cell = std::min(cell, e);
        }
        cost += cell;
      }
      best = std::min(best, cost);
      return;
    }
    for (size_t i = from; i < grid.size(); ++i) {
      pick.push_back(grid[i]);
      rec(i + 1);
      pick.pop_back();
    }
  };
  rec(0);
  return best;
}

void expect_well_formed(const Codebook& cb, int q) {
  ASSERT_EQ(static_cast<int>(cb.levels.size()), q);
  ASSERT_EQ(cb.bounds.size(), cb.levels.size() - 1);
  for (size_t k = 1; k < cb.levels.size(); ++k) EXPECT_LT(cb.levels[k - 1], cb.levels[k]);
  for (size_t k = 1; k < cb.bounds.size(); ++k) EXPECT_LT(cb.bounds[k - 1], cb.bounds[k]);
}

TEST(Nuuq, DynamicProgrammeIsTheExactOptimum) {
  for (const auto& [q, zero] : {std::pair{3, false}, std::pair{4, false}, std::pair{3, true}}) {
    SCOPED_TRACE(std::to_string(q) + (zero ? " zero" : ""));
    const std::vector<float> w = laplace(300, static_cast<uint32_t>(q * 7 + zero), 0.2);
    NuuqOptions o;
    o.levels = q;
    o.bits = 4;
    o.zero = zero;
    const NuuqChoice c = choose_nuuq(w, o);
    expect_well_formed(c.codebook, q);
    if (zero) {
      EXPECT_NE(std::find(c.codebook.levels.begin(), c.codebook.levels.end(), 0),
                c.codebook.levels.end());
    }
    // The optimum at the two grids choose_nuuq tries (Algorithm 1's frac and the next).
    const WeightChoice base = choose_weight_format(w, 4, o.window, o.rounding);
    double best = std::numeric_limits<double>::infinity();
    for (int f : {base.format.frac, base.format.frac + 1})
      best = std::min(best, brute_force(w, make_format(4, f, true), q, zero, o.rounding));
    EXPECT_NEAR(c.sq_error, best, 1e-9 * best);
    // The error reported is the error of the decode.
    double err = 0;
    for (float v : w) {
      const double d =
          v -
          std::ldexp(static_cast<double>(c.codebook.decode(quantize_code(v, c.grid, o.rounding))),
                     -c.grid.frac);
      err += d * d;
    }
    EXPECT_DOUBLE_EQ(err, c.sq_error);
  }
}

TEST(Nuuq, SymmetricLevelsMirrorAndLloydNeverBeatsTheProgramme) {
  const std::vector<float> w = laplace(5000, 3, 0.05);
  for (int q : {3, 4, 5, 16}) {
    SCOPED_TRACE(q);
    NuuqOptions o;
    o.levels = q;
    NuuqOptions sym = o;
    sym.symmetric = true;
    const NuuqChoice s = choose_nuuq(w, sym);
    expect_well_formed(s.codebook, q);
    for (size_t k = 0; k < s.codebook.levels.size(); ++k)
      EXPECT_EQ(s.codebook.levels[k], -s.codebook.levels[s.codebook.levels.size() - 1 - k]);
    // Mirrored codes decode to mirrored levels.
    for (int64_t u = -100; u <= 100; ++u)
      EXPECT_EQ(s.codebook.decode(u),
                u == 0 && q % 2 == 0 ? s.codebook.decode(0) : -s.codebook.decode(-u))
          << u;
    const NuuqChoice dp = choose_nuuq(w, o);
    EXPECT_LE(dp.sq_error, s.sq_error * (1 + 1e-12));  // symmetry is a constraint
    NuuqOptions ll = o;
    ll.lloyd = true;
    const NuuqChoice l = choose_nuuq(w, ll);
    EXPECT_GE(l.sq_error, dp.sq_error * (1 - 1e-12));
    EXPECT_LT(l.sq_error, 2.0 * dp.sq_error) << "Lloyd";  // a local optimum, not a bad one
    // More levels never cost accuracy.
    if (q > 3) {
      o.levels = q - 1;
      EXPECT_LE(dp.sq_error, choose_nuuq(w, o).sq_error);
    }
  }
}

TEST(Nuuq, FewCodesKeepEveryCodeAndBadLevelsAreRefused) {
  const std::vector<float> w = {-0.5f, 0.25f, 0.25f, 0.5f};
  NuuqOptions o;
  o.levels = 16;
  const NuuqChoice c = choose_nuuq(w, o);
  // Every occupied code is a level: the error of the uniform 8-bit grid.
  EXPECT_EQ(c.sq_error, choose_weight_format(w, 8, o.window, o.rounding).sq_error);
  EXPECT_EQ(c.codebook.levels.size(), 3u);
  EXPECT_NE(c.note.find("distinct grid codes"), std::string::npos);
  o.levels = 1;
  EXPECT_THROW((void)choose_nuuq(w, o), Error);
}

TEST(Nuuq, PackingAndSizeFollowTheTable) {
  EXPECT_EQ(nuuq_packing(3).per_word, 5);
  EXPECT_EQ(nuuq_packing(3).word_bits, 8);
  EXPECT_EQ(nuuq_packing(5).per_word, 3);
  EXPECT_EQ(nuuq_packing(5).word_bits, 7);
  EXPECT_EQ(nuuq_packing(4).word_bits, 2 * nuuq_packing(4).per_word);
  EXPECT_EQ(nuuq_packing(16).word_bits, 4 * nuuq_packing(16).per_word);
  const std::vector<float> w = laplace(1000, 9, 0.1);
  NuuqOptions o;
  o.levels = 3;
  const NuuqChoice c = choose_nuuq(w, o);
  const NuuqSize s = nuuq_size(w, {c.codebook}, {c.grid}, o.rounding);
  EXPECT_EQ(s.levels, 3);
  EXPECT_NEAR(s.bits_eq, std::log2(3.0), 1e-12);
  EXPECT_NEAR(s.bits_stored, 200 * 8 / 1000.0, 1e-12);  // 1000 indices, 5 per byte
  EXPECT_LE(s.bits_entropy, std::log2(3.0) + 1e-12);
  EXPECT_GT(s.bits_entropy, 0.5);
  EXPECT_EQ(s.codebook_bits, 3 * 8);
  EXPECT_EQ(s.bytes, 200 + 3);
}

TEST(Nuuq, PackedIndicesRoundTrip) {
  std::mt19937 rng(2);
  for (int q : {2, 3, 4, 5, 7, 16, 255}) {
    std::uniform_int_distribution<int> d(0, q - 1);
    for (size_t n : {1u, 5u, 6u, 1001u}) {
      std::vector<int> idx(n);
      for (int& i : idx) i = d(rng);
      const std::vector<uint8_t> packed = pack_indices(idx, q);
      const Packing pk = nuuq_packing(q);
      EXPECT_EQ(packed.size(), ((n + pk.per_word - 1) / pk.per_word * pk.word_bits + 7) / 8);
      EXPECT_EQ(unpack_indices(packed, n, q), idx) << q << " " << n;
    }
  }
  // Q = 3: five indices per byte, base 3, first index least significant.
  EXPECT_EQ(pack_indices(std::vector<int>{1, 2, 0, 0, 1}, 3),
            (std::vector<uint8_t>{1 + 2 * 3 + 81}));
}

}  // namespace
}  // namespace gammaq::quant
