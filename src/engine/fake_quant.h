// The fixed-point simulation ("fake-quant") numerics policy: a QuantPlan resolved against a
// graph into what the executor applies (DESIGN.md "Number formats").
//
// Points of quantization, as an accelerator would: the network input; the weights and biases
// of every Conv/Gemm (per layer or per output channel); every node's output (after its fused
// activation). Products of quantized values are exact in double and the reference kernels
// accumulate in double, so a dot product of <= 16-bit operands is computed exactly; the
// output is then rounded to its format.
#pragma once

#include <optional>
#include <vector>

#include "gammaq/graph.h"
#include "quant/plan.h"
#include "quant/simulation.h"

namespace gammaq {

// Resolves `plan` against `g`. Throws Error(InvalidData) when the plan names a tensor or layer
// the graph lacks, or lacks one the graph has ("from another model").
[[nodiscard]] FakeQuant resolve_plan(const Graph& g, const quant::QuantPlan& plan);

// Rounds x to the grid 2^-frac without saturation (accumulator-precision biases).
void round_to_grid(std::span<float> x, int frac, quant::Rounding rounding) noexcept;

}  // namespace gammaq
