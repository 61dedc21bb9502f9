#include "quant/nuuq.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "gammaq/error.h"
#include "quant/weights.h"

namespace gammaq::quant {
namespace {

// The weights collapsed onto their grid codes (ALGORITHMS.md 8.2 step 2), in code units
// x = w 2^frac, ascending codes: count, sum x, sum x^2 per occupied code.
struct Cells {
  std::vector<int64_t> code;
  std::vector<double> n, s1, s2;
};

Cells collapse(std::span<const float> w, const Format& grid, Rounding r, bool magnitudes) {
  std::map<int64_t, std::array<double, 3>> cells;
  const double scale = std::ldexp(1.0, grid.frac);
  for (float v : w) {
    double x = static_cast<double>(v) * scale;
    int64_t u = quantize_code(v, grid, r);
    if (magnitudes) {
      x = std::fabs(x);
      u = std::min<int64_t>(std::llabs(u), grid.qmax());
    }
    auto& c = cells[u];
    c[0] += 1;
    c[1] += x;
    c[2] += x * x;
  }
  Cells out;
  for (const auto& [u, c] : cells) {
    out.code.push_back(u);
    out.n.push_back(c[0]);
    out.s1.push_back(c[1]);
    out.s2.push_back(c[2]);
  }
  return out;
}

// Runs of consecutive cells, each with its level (a grid code); cost in code units squared.
struct Partition {
  std::vector<size_t> start;  // first cell of each run
  std::vector<int64_t> level;
  double cost = 0;
};

// Where a run's level may lie, and whether one run is the forced zero level.
enum class Zero { None, Anywhere, First };

struct RunCost {
  const Cells& c;
  std::vector<double> n, s1, s2;  // prefix sums
  int64_t lo, hi;                 // level range
  explicit RunCost(const Cells& cells, int64_t level_lo, int64_t level_hi)
      : c(cells), n(cells.n.size() + 1), s1(n.size()), s2(n.size()), lo(level_lo), hi(level_hi) {
    for (size_t i = 0; i < cells.n.size(); ++i) {
      n[i + 1] = n[i] + cells.n[i];
      s1[i + 1] = s1[i] + cells.s1[i];
      s2[i + 1] = s2[i] + cells.s2[i];
    }
  }
  // The grid point nearest the run's mean (cells a..b inclusive), and its squared error.
  [[nodiscard]] std::pair<int64_t, double> best(size_t a, size_t b) const {
    const double cn = n[b + 1] - n[a], c1 = s1[b + 1] - s1[a], c2 = s2[b + 1] - s2[a];
    const auto lv = std::clamp<int64_t>(std::llround(c1 / cn), lo, hi);
    const double l = static_cast<double>(lv);
    return {lv, std::max(0.0, c2 - 2 * l * c1 + l * l * cn)};
  }
  [[nodiscard]] double zero(size_t a, size_t b) const { return s2[b + 1] - s2[a]; }
};

// The exact optimum over partitions of the cells into q runs (q <= cells), one of them at
// level 0 when `zero` asks: F[z][k][b] = min_a F[.][k-1][a-1] + cost(a..b).
Partition solve_dp(const Cells& cells, int q, int64_t lo, int64_t hi, Zero zero) {
  const size_t g = cells.code.size();
  const RunCost rc(cells, lo, hi);
  const double inf = std::numeric_limits<double>::infinity();
  const int zs = zero == Zero::None ? 1 : 2;
  // f[z][k][b]: best cost of cells 0..b in k runs, z: the zero run used; arg: run start.
  std::vector<std::vector<std::vector<double>>> f(
      static_cast<size_t>(zs),
      std::vector<std::vector<double>>(static_cast<size_t>(q + 1), std::vector<double>(g, inf)));
  auto arg = std::vector<std::vector<std::vector<std::pair<size_t, int>>>>(
      static_cast<size_t>(zs),
      std::vector<std::vector<std::pair<size_t, int>>>(static_cast<size_t>(q + 1),
                                                       std::vector<std::pair<size_t, int>>(g)));
  for (int k = 1; k <= q; ++k)
    for (size_t b = static_cast<size_t>(k - 1); b < g; ++b)
      for (size_t a = static_cast<size_t>(k - 1); a <= b; ++a) {
        const auto [lv, cost] = rc.best(a, b);
        (void)lv;
        for (int z = 0; z < zs; ++z) {
          // a normal run after k-1 runs with the same zero state
          const double before = a == 0
                                    ? (k == 1 && z == 0 ? 0.0 : inf)
                                    : f[static_cast<size_t>(z)][static_cast<size_t>(k - 1)][a - 1];
          double& cur = f[static_cast<size_t>(z)][static_cast<size_t>(k)][b];
          if (before + cost < cur) {
            cur = before + cost;
            arg[static_cast<size_t>(z)][static_cast<size_t>(k)][b] = {a, 0};
          }
          if (z == 1 && (zero == Zero::Anywhere || (a == 0 && k == 1))) {  // this run is zero
            const double b0 =
                a == 0 ? (k == 1 ? 0.0 : inf) : f[0][static_cast<size_t>(k - 1)][a - 1];
            if (b0 + rc.zero(a, b) < cur) {
              cur = b0 + rc.zero(a, b);
              arg[1][static_cast<size_t>(k)][b] = {a, 1};
            }
          }
        }
      }
  Partition p;
  int z = zs - 1;
  p.cost = f[static_cast<size_t>(z)][static_cast<size_t>(q)][g - 1];
  size_t b = g - 1;
  for (int k = q; k >= 1; --k) {
    const auto [a, is_zero] = arg[static_cast<size_t>(z)][static_cast<size_t>(k)][b];
    p.start.push_back(a);
    p.level.push_back(is_zero ? 0 : rc.best(a, b).first);
    if (is_zero) z = 0;
    if (a == 0) break;
    b = a - 1;
  }
  std::reverse(p.start.begin(), p.start.end());
  std::reverse(p.level.begin(), p.level.end());
  return p;
}

// Lloyd's iteration on the grid: levels at the weighted quantiles, then assignment to the
// nearest level and levels to the grid point nearest their members' mean, until nothing moves.
Partition lloyd_from(const Cells& cells, const RunCost& rc, Partition p, Zero zero) {
  const size_t g = cells.code.size();
  for (int iter = 0; iter < 10000; ++iter) {
    p.level.clear();
    for (size_t r = 0; r < p.start.size(); ++r) {
      const size_t b = r + 1 < p.start.size() ? p.start[r + 1] - 1 : g - 1;
      p.level.push_back(rc.best(p.start[r], b).first);
    }
    if (zero != Zero::None) {  // the level nearest 0 (the first, on magnitudes) becomes 0
      size_t z = 0;
      for (size_t r = 1; r < p.level.size() && zero == Zero::Anywhere; ++r)
        if (std::llabs(p.level[r]) < std::llabs(p.level[z])) z = r;
      p.level[z] = 0;
    }
    // Nearest level for each cell's mean (ties: the lower level); runs that keep no cell go.
    std::vector<int64_t> lv = p.level;
    std::sort(lv.begin(), lv.end());
    std::vector<size_t> uniq;
    size_t r = 0;
    int64_t prev = -1;
    for (size_t i = 0; i < g; ++i) {
      const double mean = cells.s1[i] / cells.n[i];  // beyond the code in saturated cells
      while (r + 1 < lv.size() && std::fabs(mean - static_cast<double>(lv[r + 1])) <
                                      std::fabs(mean - static_cast<double>(lv[r])))
        ++r;
      if (static_cast<int64_t>(r) != prev) {
        uniq.push_back(i);
        prev = static_cast<int64_t>(r);
      }
    }
    if (uniq == p.start) break;
    p.start = uniq;
  }
  p.level.clear();
  p.cost = 0;
  for (size_t r = 0; r < p.start.size(); ++r) {
    const size_t b = r + 1 < p.start.size() ? p.start[r + 1] - 1 : g - 1;
    const auto [lv, cost] = rc.best(p.start[r], b);
    p.level.push_back(lv);
    p.cost += cost;
  }
  if (zero != Zero::None) {
    size_t z = 0;
    for (size_t r = 1; r < p.level.size() && zero == Zero::Anywhere; ++r)
      if (std::llabs(p.level[r]) < std::llabs(p.level[z])) z = r;
    const size_t b = z + 1 < p.start.size() ? p.start[z + 1] - 1 : g - 1;
    p.cost += rc.zero(p.start[z], b) - rc.best(p.start[z], b).second;
    p.level[z] = 0;
  }
  return p;
}

// Lloyd from two starts -- runs of equal weight counts (the weighted quantiles) and runs of
// equal code width -- keeping the better: heavy-tailed layers trap the first in the centre.
Partition solve_lloyd(const Cells& cells, int q, int64_t lo, int64_t hi, Zero zero) {
  const size_t g = cells.code.size();
  const RunCost rc(cells, lo, hi);
  Partition by_count, by_width;
  for (int k = 0; k < q; ++k) {
    const double want = rc.n[g] * k / q;
    size_t a =
        static_cast<size_t>(std::upper_bound(rc.n.begin(), rc.n.end(), want) - rc.n.begin()) - 1;
    a = std::max(a, by_count.start.empty() ? 0 : by_count.start.back() + 1);
    if (a < g) by_count.start.push_back(a);
    const double edge = static_cast<double>(cells.code.front()) +
                        static_cast<double>(cells.code.back() - cells.code.front()) * k / q;
    size_t b = static_cast<size_t>(std::lower_bound(cells.code.begin(), cells.code.end(),
                                                    static_cast<int64_t>(std::ceil(edge))) -
                                   cells.code.begin());
    b = std::max(b, by_width.start.empty() ? 0 : by_width.start.back() + 1);
    if (b < g) by_width.start.push_back(b);
  }
  Partition a = lloyd_from(cells, rc, by_count, zero);
  Partition b = lloyd_from(cells, rc, by_width, zero);
  return b.cost < a.cost ? b : a;
}

// The codebook of a partition of `cells` (signed codes, or magnitudes mirrored about 0).
Codebook to_codebook(const Cells& cells, const Partition& p, bool mirrored) {
  Codebook cb;
  if (!mirrored) {
    for (size_t r = 0; r < p.start.size(); ++r) {
      cb.levels.push_back(static_cast<int32_t>(p.level[r]));
      if (r > 0) cb.bounds.push_back(static_cast<int32_t>(cells.code[p.start[r]]));
    }
    return cb;
  }
  // Magnitude runs k = 0..K-1 starting at magnitude m_k: signed levels -c_{K-1}..-c_0 (without
  // a duplicate 0), c_0..c_{K-1}; bounds -m_k + 1 and m_k for k >= 1, and 0 between -c_0 and c_0.
  const bool has_zero = p.level[0] == 0;
  for (size_t r = p.level.size(); r-- > 0;)
    if (!(has_zero && r == 0)) cb.levels.push_back(static_cast<int32_t>(-p.level[r]));
  for (int64_t l : p.level) cb.levels.push_back(static_cast<int32_t>(l));
  for (size_t r = p.start.size(); r-- > 1;)
    cb.bounds.push_back(static_cast<int32_t>(-cells.code[p.start[r]] + 1));
  if (!has_zero) cb.bounds.push_back(0);
  for (size_t r = 1; r < p.start.size(); ++r)
    cb.bounds.push_back(static_cast<int32_t>(cells.code[p.start[r]]));
  return cb;
}

}  // namespace

int Codebook::index(int64_t grid_code) const noexcept {
  return static_cast<int>(std::upper_bound(bounds.begin(), bounds.end(), grid_code) -
                          bounds.begin());
}

NuuqChoice choose_nuuq(std::span<const float> w, const NuuqOptions& o) {
  if (o.levels < 2)
    throw Error(ErrorKind::InvalidOption, str_cat("--wlevels ", o.levels, ": must be >= 2"));
  const WeightChoice base = choose_weight_format(w, o.bits, o.window, o.rounding);
  NuuqChoice best;
  best.sq_error = std::numeric_limits<double>::infinity();
  for (int frac : {base.format.frac, base.format.frac + 1}) {
    const Format grid = make_format(o.bits, frac, true);
    if (grid.frac != frac) continue;  // clamped: the finer grid does not exist
    const bool mirrored = o.symmetric;
    const Cells cells = collapse(w, grid, o.rounding, mirrored);
    int q = o.levels;
    Zero zero = o.zero ? Zero::Anywhere : Zero::None;
    int64_t lo = grid.qmin(), hi = grid.qmax();
    if (mirrored) {
      zero = (o.levels % 2 == 1) ? Zero::First : Zero::None;
      q = (o.levels + 1) / 2;  // magnitude levels (with the zero for odd Q)
      lo = zero == Zero::None ? 1 : 0;
      hi = grid.qmax();
    }
    NuuqChoice c;
    c.grid = grid;
    const int cells_n = static_cast<int>(cells.code.size());
    if (cells_n < q) {
      c.note = str_cat(cells_n, " distinct grid codes: ", cells_n, mirrored ? " magnitude" : "",
                       " levels instead of ", q);
      q = std::max(1, cells_n);
    }
    const bool lloyd = o.lloyd || cells.code.size() > 1024;
    if (lloyd && !o.lloyd)
      c.note = str_cat(cells.code.size(), " occupied grid codes: Lloyd, not the DP");
    const Partition p =
        lloyd ? solve_lloyd(cells, q, lo, hi, zero) : solve_dp(cells, q, lo, hi, zero);
    c.codebook = to_codebook(cells, p, mirrored);
    // The error in weight units, measured through the decode itself.
    double err = 0;
    for (float v : w) {
      const double d =
          static_cast<double>(v) -
          std::ldexp(static_cast<double>(c.codebook.decode(quantize_code(v, grid, o.rounding))),
                     -grid.frac);
      err += d * d;
    }
    c.sq_error = err;
    if (err < best.sq_error) best = std::move(c);
  }
  return best;
}

Packing nuuq_packing(int levels) {
  Packing best{1, static_cast<int>(std::ceil(std::log2(static_cast<double>(levels)) - 1e-12))};
  for (int k = 2; k <= 8; ++k) {
    const int bits = static_cast<int>(std::ceil(k * std::log2(static_cast<double>(levels)) - 1e-9));
    if (static_cast<double>(bits) / k < static_cast<double>(best.word_bits) / best.per_word - 1e-12)
      best = {k, bits};
  }
  return best;
}

std::vector<uint8_t> pack_indices(std::span<const int> indices, int levels) {
  const Packing pk = nuuq_packing(levels);
  std::vector<uint8_t> out;
  uint64_t acc = 0;  // bits not yet written, least significant first
  int have = 0;
  for (size_t i = 0; i < indices.size(); i += static_cast<size_t>(pk.per_word)) {
    uint64_t word = 0, mult = 1;
    for (int j = 0; j < pk.per_word; ++j) {
      const size_t k = i + static_cast<size_t>(j);
      if (k < indices.size()) word += static_cast<uint64_t>(indices[k]) * mult;
      mult *= static_cast<uint64_t>(levels);
    }
    acc |= word << have;
    have += pk.word_bits;
    while (have >= 8) {
      out.push_back(static_cast<uint8_t>(acc & 0xff));
      acc >>= 8;
      have -= 8;
    }
  }
  if (have > 0) out.push_back(static_cast<uint8_t>(acc & 0xff));
  return out;
}

std::vector<int> unpack_indices(std::span<const uint8_t> bytes, size_t count, int levels) {
  const Packing pk = nuuq_packing(levels);
  std::vector<int> out;
  uint64_t acc = 0;
  int have = 0;
  size_t next = 0;
  while (out.size() < count) {
    while (have < pk.word_bits) {
      const uint64_t b = next < bytes.size() ? bytes[next] : 0;
      ++next;
      acc |= b << have;
      have += 8;
    }
    uint64_t word = acc & ((uint64_t{1} << pk.word_bits) - 1);
    acc >>= pk.word_bits;
    have -= pk.word_bits;
    for (int j = 0; j < pk.per_word && out.size() < count; ++j) {
      out.push_back(static_cast<int>(word % static_cast<uint64_t>(levels)));
      word /= static_cast<uint64_t>(levels);
    }
  }
  return out;
}

NuuqSize nuuq_size(std::span<const float> w, const std::vector<Codebook>& cbs,
                   const std::vector<Format>& grids, Rounding rounding) {
  GAMMAQ_CHECK(!cbs.empty() && cbs.size() == grids.size() && w.size() % cbs.size() == 0,
               "nuuq_size: codebooks and grids per channel");
  NuuqSize s;
  const size_t per = w.size() / cbs.size();
  double bits_stored = 0, bits_eq = 0, entropy = 0;
  for (size_t c = 0; c < cbs.size(); ++c) {
    const int q = static_cast<int>(cbs[c].levels.size());
    s.levels = std::max(s.levels, q);
    const Packing pk = nuuq_packing(q);
    const auto words = static_cast<int64_t>((per + pk.per_word - 1) / pk.per_word);
    bits_stored += static_cast<double>(words * pk.word_bits);
    bits_eq += static_cast<double>(per) * std::log2(static_cast<double>(q));
    s.codebook_bits += static_cast<int64_t>(q) * grids[c].bits;
    std::vector<int64_t> hist(static_cast<size_t>(q), 0);
    for (size_t k = c * per; k < (c + 1) * per; ++k)
      ++hist[static_cast<size_t>(cbs[c].index(quantize_code(w[k], grids[c], rounding)))];
    for (int64_t h : hist)
      if (h > 0) {
        const double pr = static_cast<double>(h) / static_cast<double>(per);
        entropy -= static_cast<double>(h) * std::log2(pr);
      }
  }
  const auto n = static_cast<double>(w.size());
  s.bits_eq = bits_eq / n;
  s.bits_stored = bits_stored / n;
  s.bits_entropy = entropy / n;
  s.bytes = (static_cast<int64_t>(bits_stored) + s.codebook_bits + 7) / 8;
  return s;
}

}  // namespace gammaq::quant
