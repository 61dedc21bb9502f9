// NUUQ weights (ALGORITHMS.md 8, a reconstruction: only the paper's abstract was available):
// Q levels chosen among the codes of a uniform B-bit grid, so storage follows Q (log2 Q bits
// per weight) while the arithmetic stays B-bit fixed point.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "quant/format.h"

namespace gammaq::quant {

// Q levels on a B-bit grid and which grid codes take which level. A weight w is first rounded
// to its grid code u = quantize_code(w, grid) (Algorithm 1's rounding and saturation), then
// takes index #{k : u >= bounds[k]} and means levels[index] * 2^-frac: one comparator bank
// and one table, the same decode in the simulation, the integer engine and the exports.
struct Codebook {
  std::vector<int32_t> levels;  // Q distinct grid codes, ascending
  std::vector<int32_t> bounds;  // Q - 1 ascending grid-code thresholds
  [[nodiscard]] int index(int64_t grid_code) const noexcept;
  [[nodiscard]] int32_t decode(int64_t grid_code) const noexcept {
    return levels[index(grid_code)];
  }
  friend bool operator==(const Codebook&, const Codebook&) = default;
};

struct NuuqOptions {
  int levels = 4;          // Q >= 2
  int bits = 8;            // B: the arithmetic grid
  bool zero = false;       // --nuuq-zero: 0 is one of the levels (exact zeros)
  bool symmetric = false;  // --nuuq-sym: levels mirrored about 0 (fit on |w|)
  bool lloyd = false;      // --nuuq-solver lloyd: k-means on the grid instead of the DP
  int window = 4;          // Algorithm 1's K_w for the grid
  Rounding rounding = Rounding::HalfEven;
};

struct NuuqChoice {
  Format grid;  // signed, B bits
  Codebook codebook;
  double sq_error = 0;  // sum (w - c(w))^2 over the tensor, in double
  std::string note;     // fewer distinct grid codes than Q, solver fallback, ...
};

// The levels for one tensor (a layer, or one output channel): grid frac by Algorithm 1 at B
// bits, then, for that frac and the next finer one, the weights collapsed onto their grid
// codes and the Q-level codebook of least squared error -- exact by dynamic programming over
// contiguous runs of codes (ALGORITHMS.md 8.2 step 3, O(Q G^2) for G occupied codes; above
// 1024 occupied codes, or with options.lloyd, Lloyd's iteration on the grid, initialised at
// the weighted quantiles) -- keeping the frac of least error. Errors: Q < 2, B outside 2..16
// (InvalidOption); non-finite weights as Algorithm 1.
[[nodiscard]] NuuqChoice choose_nuuq(std::span<const float> w, const NuuqOptions& options);

// What the weights of `codebooks` (each over `per` consecutive weights; one codebook for the
// whole tensor when codebooks.size() == 1) cost to store, ALGORITHMS.md 8.3.
struct NuuqSize {
  int levels = 0;             // the largest Q
  double bits_eq = 0;         // log2 Q, weighted by weights
  double bits_stored = 0;     // packed indices per weight (k per ceil(k log2 Q)-bit word)
  double bits_entropy = 0;    // entropy of the index histogram per weight
  int64_t codebook_bits = 0;  // Q * B per codebook
  int64_t bytes = 0;          // packed indices + codebooks, rounded up to whole bytes
};
[[nodiscard]] NuuqSize nuuq_size(std::span<const float> w, const std::vector<Codebook>& codebooks,
                                 const std::vector<Format>& grids, Rounding rounding);

// Indices per word of the packing for Q levels: k indices in ceil(k log2 Q) bits, the k <= 8
// of fewest bits per index (Q = 3: 5 per byte; a power of two: 1 per log2 Q bits).
struct Packing {
  int per_word = 1;
  int word_bits = 1;
};
[[nodiscard]] Packing nuuq_packing(int levels);

// Indices 0..levels-1 packed as gammaq's exports store them: each group of per_word indices
// i_0.. becomes the word sum i_j levels^j (the last group padded with index 0), words of
// word_bits bits written least significant bit first into a byte stream, the last byte padded
// with zero bits. unpack_indices reverses it (`count` indices).
[[nodiscard]] std::vector<uint8_t> pack_indices(std::span<const int> indices, int levels);
[[nodiscard]] std::vector<int> unpack_indices(std::span<const uint8_t> bytes, size_t count,
                                              int levels);

}  // namespace gammaq::quant
