// The integer numerics policy (DESIGN.md "one Executor, numerics policies"): a QuantPlan
// compiled against a graph into integer constants, output stages and accumulator widths,
// which the Executor runs with the integer kernels (ExecutorOptions::integer). This is the
// definition of what fixed-point hardware computes; the simulation must equal it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/fake_quant.h"
#include "gammaq/graph.h"
#include "kernels/integer/int8_conv.h"
#include "kernels/integer/integer.h"
#include "quant/plan.h"

namespace gammaq {

struct IntegerNode {
  kernels::OutputStage stage;
  std::vector<kernels::OutputStage> input_stages;  // Concat: one per input
  LayerCodes codes;                                // Conv / Gemm
  bool wide = false;         // Conv / Gemm: int64 accumulation (int32 cannot be proven safe)
  int accumulator_bits = 0;  // Conv / Gemm: bits of the largest possible |accumulator|, + sign
  bool int8 = false;         // Conv: may run on the int8 kernels (kernels/integer/int8_conv.h)
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
// The fast path's per-layer state: oneDNN int8 convolutions for one batch size (a different
// batch size makes them again) and LRN multiplier tables, made on first use.
class IntegerKernels {
 public:
  IntegerKernels();
  ~IntegerKernels();
  // The int8 convolution of `node`, or null where it cannot be proven exact (Int8Conv::make).
  kernels::Int8Conv* conv(const IntegerProgram& p, size_t node, const kernels::WindowGeom& g);
  // The multiplier table of LRN `node`.
  const kernels::LrnTable& lrn(const IntegerProgram& p, size_t node);
  // "<node>: <oneDNN implementation>" per convolution made so far.
  [[nodiscard]] std::vector<std::string> describe(const IntegerProgram& p) const;

 private:
  int64_t batch_ = 0;
  std::vector<std::unique_ptr<kernels::Int8Conv>> convs_;
  std::vector<bool> tried_;
  std::vector<std::unique_ptr<kernels::LrnTable>> lrn_;
};

// With `fast`, convolutions marked int8 run on the int8 kernels (the same integers); without,
// everything runs on the exact int32/int64 kernels. With `node_seconds` (one entry per node),
// each node's wall time is added to its entry (gammaq profile).
void run_integer(const IntegerProgram& p, const Tensor& images,
                 std::vector<std::vector<int32_t>>& codes, IntegerKernels* fast = nullptr,
                 std::vector<double>* node_seconds = nullptr);

}  // namespace gammaq
