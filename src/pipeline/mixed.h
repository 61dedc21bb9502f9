// Mixed precision by SQNR (ALGORITHMS.md 6.3, 6.4; the paper's Tables 2-4): quantize at a low
// width, rank layers (weights) or feature maps by their SQNR there, and give the high width to
// those under a threshold -- or to the fewest that meet a bit budget or an accuracy target.
#pragma once

#include <string>
#include <vector>

#include "gammaq/dataset.h"
#include "gammaq/evaluate.h"
#include "gammaq/graph.h"
#include "pipeline/quantize.h"

namespace gammaq {

struct MixedOptions {
  bool weights = true;  // true: weight widths (feature maps float, Table 2); false: feature-map
                        // widths with weights at the high width (Table 3)
  bool joint = false;   // both at the low width, weights and feature maps ranked together
  int low = 4, high = 8;
  bool keep_critical = false;  // the first layer fed by the input and the classifier stay high
};

// One candidate tensor (a layer's weights, or a feature map) and its SQNR at the low width.
struct Sensitivity {
  std::string name;
  double sqnr_db = 0;
  double size = 0;  // parameters (weights) or values per image (feature maps): bit averages
  bool critical = false;
  bool is_weight = true;
};

// Quantizes at the low width and returns every candidate with its SQNR, lowest first (NaN
// SQNR -- nothing to measure -- last, never promoted by a threshold).
[[nodiscard]] std::vector<Sensitivity> rank_by_sqnr(const Graph& g, Dataset& calib,
                                                    const QuantizeOptions& base,
                                                    const MixedOptions& m);

// The options that promote `promoted` (names from rank_by_sqnr) and the critical ones when
// asked: base with the widths set and the overrides filled in.
[[nodiscard]] QuantizeOptions promote(const QuantizeOptions& base, const MixedOptions& m,
                                      const std::vector<Sensitivity>& ranked, size_t promoted);

// How many of `ranked` (in order) a threshold promotes: those with SQNR < tau.
[[nodiscard]] size_t promoted_by_threshold(const std::vector<Sensitivity>& ranked, double tau);

// Average bits per weight (or per feature-map value) when the first `promoted` are high.
[[nodiscard]] double average_bits(const std::vector<Sensitivity>& ranked, const MixedOptions& m,
                                  size_t promoted);

}  // namespace gammaq
