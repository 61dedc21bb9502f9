// summary.json (DESIGN.md schema): the run, float vs quantized accuracy, and every layer's
// formats, SQNR and fitted GGD.
#pragma once

#include <string>

#include "gammaq/evaluate.h"
#include "gammaq/graph.h"
#include "pipeline/quantize.h"

namespace gammaq {

[[nodiscard]] std::string summary_json(const Graph& g, const QuantizeReport& report,
                                       const Accuracy& float_acc, const Accuracy& quant_acc,
                                       double seconds_evaluate, const std::string& tune);

}  // namespace gammaq
