// The integer numerics policy (DESIGN.md "one Executor, numerics policies"): a QuantPlan
// compiled against a graph into integer constants, output stages and accumulator widths,
// which the Executor runs with the integer kernels (ExecutorOptions::integer). This is the
// definition of what fixed-point hardware computes; the simulation must equal it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/fake_quant.h"
#include "gammaq/graph.h"
#include "kernels/integer/integer.h"
#include "quant/plan.h"

namespace gammaq {

struct IntegerNode {
  kernels::OutputStage stage;
  std::vector<kernels::OutputStage> input_stages;  // Concat: one per input
  LayerCodes codes;                                // Conv / Gemm
  bool wide = false;         // Conv / Gemm: int64 accumulation (int32 cannot be proven safe)
  int accumulator_bits = 0;  // Conv / Gemm: bits of the largest possible |accumulator|, + sign
};

class IntegerProgram {
 public:
  // Throws Error(InvalidData) for a plan that keeps feature maps float or does not match the
  // graph, Error(UnsupportedOp) naming the node for an operator without an integer form
  // (Softmax, Sigmoid, LeakyRelu, unfolded BatchNormalization, broadcasting Add/Mul, Add/Mul
  // with a constant, Pad), Error(Numerical) naming the layer when even an int64 accumulator
  // could overflow.
  IntegerProgram(const Graph& g, const quant::QuantPlan& plan);

  [[nodiscard]] const Graph& graph() const noexcept { return g_; }
  [[nodiscard]] quant::Rounding rounding() const noexcept { return rounding_; }
  // The format of activation `value` (input or node output).
  [[nodiscard]] const quant::Format& format(int value) const;
  [[nodiscard]] const IntegerNode& node(size_t index) const { return nodes_[index]; }

 private:
  const Graph& g_;
  quant::Rounding rounding_;
  std::vector<quant::Format> formats_;  // per value (unused for constants)
  std::vector<IntegerNode> nodes_;
};

// Runs `p` on `images` (plain NCHW float, batch rows): the input is quantized to its format,
// then every node runs its integer kernel. codes[v] holds activation v's codes afterwards
// (sized here).
void run_integer(const IntegerProgram& p, const Tensor& images,
                 std::vector<std::vector<int32_t>>& codes);

}  // namespace gammaq
