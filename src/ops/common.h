// Internal to src/ops: helpers several operator families share.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "engine/integer_ops.h"
#include "kernels/kernels.h"
#include "ops/op.h"

namespace gammaq::ops {

// Data of node input k, or null when the node has fewer inputs (an optional bias).
[[nodiscard]] inline const float* input_data(std::span<const Tensor* const> in, size_t k) {
  return k < in.size() ? in[k]->data.data() : nullptr;
}

// The simulation's single rounding of an exact (double) result: its fused ReLU/Clip, then the
// output format (Conv, Gemm, Add, Mul).
[[nodiscard]] inline float round_activated(double v, const Attributes& a,
                                           const kernels::OutputQuant& q) {
  return static_cast<float>(quant::fake_quant(kernels::activate_exact(v, a), q.out, q.rounding));
}

// Sign rules (OpDef::nonnegative): the output is >= 0 always (Relu, Sigmoid, Softmax), when
// input 0 is (pools, data movement), or when every activation input is (Add, Concat).
inline bool nonnegative_always(const Node&, bool, bool) { return true; }
inline bool nonnegative_if_input(const Node&, bool input0, bool) { return input0; }
inline bool nonnegative_if_all_inputs(const Node&, bool, bool all_inputs) { return all_inputs; }

// The integer plan of a node that moves codes of input 0 (pools, data movement, Relu, Clip):
// a stage requantizing from the input's frac to the output's, plus `extra_shift`.
inline void plan_requantize_by(IntegerPlanner& p, const Node& n, IntegerNode& in, int extra_shift) {
  in.stage = p.stage(n, {extra_shift + p.format(n.inputs[0]).frac - p.format(n.outputs[0]).frac});
}
// The same with no extra shift, as an OpDef::integer_plan hook.
inline void plan_requantize(IntegerPlanner& p, const Node& n, IntegerNode& in) {
  plan_requantize_by(p, n, in, 0);
}

// QDQ: the operator written with its inputs and its `axis` attribute (Concat, Flatten,
// Softmax).
QdqTail axis_qdq(QdqWriter& w, const Node& n, const std::string& y);

}  // namespace gammaq::ops
