// The fixed-point simulation ("fake-quant") numerics policy: a QuantPlan resolved against a
// graph into what the executor applies (DESIGN.md "Number formats").
//
// Points of quantization, as an accelerator would: the network input; the weights and biases
// of every Conv/Gemm (per layer or per output channel); every node's output (after its fused
// activation). Products of quantized values are exact in double and the reference kernels
// accumulate in double, so a dot product of <= 16-bit operands is computed exactly; the
// output is then rounded to its format.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "gammaq/graph.h"
#include "quant/plan.h"
#include "quant/simulation.h"

namespace gammaq {

// Resolves `plan` against `g`. Throws Error(InvalidData) when the plan names a tensor or layer
// the graph lacks, or lacks one the graph has ("from another model").
[[nodiscard]] FakeQuant resolve_plan(const Graph& g, const quant::QuantPlan& plan);

// After `plan` changed formats (not which tensors are quantized): refreshes every activation
// format in `fq` and the quantized weights and biases of the Conv/Gemm nodes `layer_nodes` --
// the changed layers, and the consumers of a changed activation (their accumulator-precision
// bias depends on the input's frac).
void update_fake_quant(const Graph& g, const quant::QuantPlan& plan, FakeQuant& fq,
                       std::span<const size_t> layer_nodes);

// The integer constants of one Conv/Gemm under its formats, shared by the simulation (which
// holds their values as floats, exactly) and the integer engine.
struct LayerCodes {
  std::vector<int32_t> weight;   // codes, in the float weight's layout
  std::vector<int> weight_frac;  // per output channel
  // Per output channel, at the accumulator's scale 2^-(weight_frac[c] + input frac); empty
  // when the layer has no bias. Accumulator-precision biases: quant::accumulator_bias; biases
  // with their own format: their code aligned by a left shift, or by a rounding right shift
  // when their format is finer than the accumulator (ALGORITHMS.md 1.2).
  std::vector<int64_t> bias;
  int input_frac = 0;
};
[[nodiscard]] LayerCodes layer_codes(const Graph& g, const Node& n, const quant::LayerFormat& l,
                                     const quant::Format& input, quant::Rounding rounding);

}  // namespace gammaq
