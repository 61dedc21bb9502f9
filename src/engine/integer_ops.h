// Internal to the integer engine and the operators' integer hooks (src/ops/op.h
// OpDef::integer_plan / integer_run): what a hook sees while the program is compiled and run.
#pragma once

#include <string>
#include <vector>

#include "engine/integer.h"

namespace gammaq {

// Compiling one node of an IntegerProgram.
class IntegerPlanner {
 public:
  IntegerPlanner(const Graph& g, const quant::QuantPlan& plan,
                 const std::vector<quant::Format>& formats, quant::Rounding rounding)
      : g_(g), plan_(plan), formats_(formats), rounding_(rounding) {}

  [[nodiscard]] const Graph& graph() const noexcept { return g_; }
  [[nodiscard]] const quant::QuantPlan& plan() const noexcept { return plan_; }
  [[nodiscard]] quant::Rounding rounding() const noexcept { return rounding_; }
  [[nodiscard]] const quant::Format& format(int value) const {
    return formats_[static_cast<size_t>(value)];
  }
  // The output stage of node n (its output format, its fused activation) with `shift`.
  [[nodiscard]] kernels::OutputStage stage(const Node& n, std::vector<int> shift) const {
    return kernels::output_stage(format(n.outputs[0]), rounding_, n.attrs, std::move(shift));
  }
  // Error(UnsupportedOp): "node '<name>' (<op>): no integer form: <why>".
  [[noreturn]] static void unsupported(const Node& n, const std::string& why);

 private:
  const Graph& g_;
  const quant::QuantPlan& plan_;
  const std::vector<quant::Format>& formats_;
  quant::Rounding rounding_;
};

// Running one node of an IntegerProgram on a batch.
struct IntegerStep {
  const IntegerProgram& p;
  size_t index;  // node index
  const Node& n;
  const IntegerNode& in;
  std::vector<std::vector<int32_t>>& codes;  // per value
  IntegerKernels* fast;                      // null: the reference integer kernels
  int64_t batch;
  Shape xs, ys;             // input 0 and output shapes at this batch
  const int32_t* x;         // input 0's codes
  std::vector<int32_t>& y;  // the output's codes, sized

  [[nodiscard]] Shape shape_of(int v) const {
    Shape s = p.graph().values[static_cast<size_t>(v)].shape;
    s[0] = batch;
    return s;
  }
  [[nodiscard]] const int64_t* bias() const {
    return in.codes.bias.empty() ? nullptr : in.codes.bias.data();
  }
};

}  // namespace gammaq
