// summary.json (DESIGN.md schema): the run, float vs quantized accuracy, and every layer's
// formats, SQNR and fitted GGD.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "gammaq/evaluate.h"
#include "gammaq/graph.h"
#include "pipeline/quantize.h"

namespace gammaq {

// What the weights of a plan cost to store (ALGORITHMS.md 8.3): float32, every layer as
// uniform codes of its width packed, and as the plan stores them (NUUQ layers: packed indices
// plus codebooks). Per weight: log2 Q ("bits_eq"), the packed figure and the index entropy,
// averaged over all weights (uniform layers count their width in all three).
struct WeightStorage {
  int64_t weights = 0;
  int64_t float_bytes = 0, uniform_bytes = 0, bytes = 0;
  double bits_eq = 0, bits_stored = 0, bits_entropy = 0;
  std::map<std::string, quant::NuuqSize> layers;  // NUUQ layers only
};
[[nodiscard]] WeightStorage weight_storage(const Graph& g, const quant::QuantPlan& plan);

// The label-free scores of a quantized model against float (evaluate.h Agreement): images,
// and per output its name, shape, SQNR (null when equal), and top-1 agreement or mean IoU
// where the output is a classifier's or a map.
[[nodiscard]] nlohmann::ordered_json agreement_json(const Agreement& a);

// `agreement` (may be null): written as "agreement" when given; "float" and "quantized"
// accuracy are written when they scored images, or when there is no agreement either.
[[nodiscard]] std::string summary_json(const Graph& g, const QuantizeReport& report,
                                       const Accuracy& float_acc, const Accuracy& quant_acc,
                                       double seconds_evaluate, const std::string& tune,
                                       const std::string& command = "",
                                       const Agreement* agreement = nullptr);

}  // namespace gammaq
