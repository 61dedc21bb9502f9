// Diagnostics of a quantized plan on sample images: what report.html draws beyond
// summary.json (DESIGN.md "src/report/"). The float network and the plan's exact simulation
// run side by side on the same images; per feature map: its histogram (exact zeros counted
// apart), SQNR isolated (only this tensor rounded, on the float network's values: 6.1
// "local") and cumulative (the fully quantized network against the float one: 6.1
// "accumulated"), and the share of values its format saturates; per Conv/Gemm: MACs, shapes,
// the weight histogram, and the accumulator width its formats can need (bound) and did need
// (observed).
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "gammaq/dataset.h"
#include "gammaq/graph.h"
#include "quant/plan.h"

namespace gammaq::report {

struct DiagnoseOptions {
  int64_t images = 200;  // the first N images of the data (all when fewer)
  int64_t batch = 32;
  int bins = 60;     // histogram bins per tensor
  int threads = 0;   // kernel threads (0: the process default)
  std::string data;  // the data SPEC, recorded in the result
  // Called after each batch with (images done, images in all).
  std::function<void(int64_t, int64_t)> progress;
};

// diagnostics.json (schema in docs/cli/report.md). The quantized network runs on the reference
// kernels, so its values are exactly the integer engine's. Throws Error(InvalidData) when the
// data is empty or does not fit the graph, or the plan is not the graph's.
[[nodiscard]] nlohmann::ordered_json diagnose(const Graph& g, const quant::QuantPlan& plan,
                                              Dataset& data, const DiagnoseOptions& options);

// Bits a two's complement integer needs to hold every value of magnitude <= m (m >= 0):
// ceil(log2(m + 1)) + 1.
[[nodiscard]] int signed_bits_for(double m) noexcept;

}  // namespace gammaq::report
