// Internal to src/ops: helpers several operator families share.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "engine/integer_ops.h"
#include "ops/op.h"

namespace gammaq::ops {

// Data of node input k, or null when the node has fewer inputs (an optional bias).
[[nodiscard]] inline const float* input_data(std::span<const Tensor* const> in, size_t k) {
  return k < in.size() ? in[k]->data.data() : nullptr;
}

// The integer plan of a node that moves codes of input 0 (pools, data movement, Relu, Clip):
// a stage requantizing from the input's frac to the output's, plus `extra_shift`.
inline void plan_requantize(IntegerPlanner& p, const Node& n, IntegerNode& in,
                            int extra_shift = 0) {
  in.stage = p.stage(n, {extra_shift + p.format(n.inputs[0]).frac - p.format(n.outputs[0]).frac});
}

// QDQ: the operator written with its inputs and its `axis` attribute (Concat, Flatten,
// Softmax).
QdqTail axis_qdq(QdqWriter& w, const Node& n, const std::string& y);

}  // namespace gammaq::ops
