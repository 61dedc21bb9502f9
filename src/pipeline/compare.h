// Every feature-map method side by side (issue 8's `gammaq compare`): one calibration pass
// and one second pass serve every method at every width, so rows differ only by the method.
// Every row has the same weight rule: Algorithm 1, or NUUQ codebooks when base.wlevels > 0.
#pragma once

#include <string>
#include <vector>

#include "gammaq/dataset.h"
#include "gammaq/graph.h"
#include "pipeline/quantize.h"
#include "quant/plan.h"

namespace gammaq {

struct CompareOptions {
  std::vector<std::string> methods;  // names of the method table, in row order
  std::vector<int> bits;             // widths of weights and feature maps together
  // Statistics with each width's quantized weights (one pass 1 and one pass 2 per width)
  // instead of float weights (one of each for the whole run, the default).
  bool stats_per_width = false;
};

struct CompareRow {
  int bits = 8;
  std::string method;
  quant::QuantPlan plan;
  double seconds = 0;  // the method's own work: proposing and deciding
  std::vector<std::string> warnings;
};

struct CompareReport {
  std::vector<CompareRow> rows;  // by width, then in the order of options.methods
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
