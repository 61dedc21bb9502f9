// Every feature-map method side by side (issue 8's `gammaq compare`): one calibration pass
// and one second pass serve every method at every width, so rows differ only by the method.
// Weights follow one rule per row -- Algorithm 1, NUUQ codebooks or threshold codebooks
// (--wmethods: several, each crossed with every method and width).
#pragma once

#include <string>
#include <vector>

#include "gammaq/dataset.h"
#include "gammaq/graph.h"
#include "pipeline/quantize.h"
#include "quant/plan.h"

namespace gammaq {

// A weight rule: "alg1" (Algorithm 1), "nuuqQ" (NUUQ, Q levels; base's --nuuq-* flags apply),
// "threshold-normal" / "threshold-empirical" (2^bits equiprobable bins, ALGORITHMS.md 9.1).
struct WeightRule {
  std::string name = "alg1";
  int wlevels = 0;
  std::string wthreshold;
};
// Throws Error(InvalidOption) naming `name` and the accepted forms.
[[nodiscard]] WeightRule parse_weight_rule(const std::string& name);
// The rule quantize's flags in `o` ask for (--wlevels, --wthreshold), named as compare names
// it (NUUQ with its options: "nuuq4-zero-sym-lloyd").
[[nodiscard]] WeightRule weight_rule_of(const QuantizeOptions& o);

struct CompareOptions {
  std::vector<std::string> methods;  // names of the method table, in row order
  std::vector<int> bits;             // widths of weights and feature maps together
  // Statistics with each width's quantized weights (one pass 1 and one pass 2 per width)
  // instead of float weights (one of each for the whole run, the default).
  bool stats_per_width = false;
  std::vector<WeightRule> wmethods;  // empty: the rule of base's flags
};

struct CompareRow {
  int bits = 8;
  std::string method;
  std::string wmethod;
  quant::QuantPlan plan;
  double seconds = 0;  // the method's own work: proposing and deciding
  std::vector<std::string> warnings;
};

struct CompareReport {
  std::vector<CompareRow> rows;  // by width, then weight rule, then options.methods' order
  int64_t calibration_images = 0;
  int passes = 0;  // network passes over the calibration images, all rows together
  double seconds_calibrate = 0, seconds_errors = 0;  // the shared passes
  std::vector<std::string> warnings;                 // NaN/Inf values ignored
};

// `base` carries everything but method, widths and tuning (which compare does not do).
// Throws Error(InvalidOption) for an unknown method or a width outside 2..16, before any pass.
[[nodiscard]] CompareReport compare_methods(const Graph& g, Dataset& calib,
                                            const QuantizeOptions& base,
                                            const CompareOptions& options);

}  // namespace gammaq
