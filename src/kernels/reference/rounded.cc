// The exact fixed-point simulation of one node (kernels.h run_node_rounded).
#include "kernels/kernels.h"
#include "ops/op.h"

namespace gammaq::kernels {

void run_node_rounded(const Node& node, std::span<const Tensor* const> in, Tensor& y,
                      const OutputQuant& q) {
  if (const auto rounded = ops::def(node.op).rounded) return rounded(node, in, y, q);
  run_node_reference(node, in, y);  // exact in float: the caller rounds
}

bool rounds_in_kernel(OpType op) noexcept { return ops::def(op).rounded != nullptr; }

std::optional<OutputQuant> output_quant(const Graph& g, const FakeQuant& fq, const Node& n) {
  const auto& out = fq.value_format[static_cast<size_t>(n.outputs[0])];
  if (!out) return std::nullopt;
  OutputQuant q;
  q.out = *out;
  q.rounding = fq.rounding;
  for (int v : n.inputs) {
    if (g.values[static_cast<size_t>(v)].is_constant) continue;
    const auto& f = fq.value_format[static_cast<size_t>(v)];
    if (!f) return std::nullopt;
    q.in_frac.push_back(f->frac);
  }
  return q;
}

}  // namespace gammaq::kernels
