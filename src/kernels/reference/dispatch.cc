// One node through its operator's reference kernel (src/ops/): the executor's reference path
// and the fast path's fallback for operators oneDNN does not cover.
#include "gammaq/error.h"
#include "kernels/kernels.h"
#include "ops/op.h"

namespace gammaq::kernels {

void run_node_reference(const Node& node, std::span<const Tensor* const> in, Tensor& y) {
  const auto reference = ops::def(node.op).reference;
  GAMMAQ_CHECK(reference, "op ", op_name(node.op), " survives import");
  reference(node, in, y);
}

}  // namespace gammaq::kernels
