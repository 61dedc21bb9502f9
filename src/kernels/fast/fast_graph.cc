// FastGraph: oneDNN execution of a whole graph (see fast.h).
#include <omp.h>

#include "kernels/fast/fast.h"
#include "kernels/fast/fast_builder.h"
#include "ops/op.h"

namespace gammaq::kernels {

void FastGraphImpl::build(const Node& n) {
  if (const auto fast = ops::def(n.op).fast; fast && fast(*this, n)) return;
  build_reference(n);
}

FastGraph::FastGraph(const Graph& g, int64_t batch, const FakeQuant* fake_quant,
                     bool keep_unquantized)
    : impl_(std::make_unique<FastGraphImpl>(g, batch, fake_quant, keep_unquantized)) {}
FastGraph::~FastGraph() = default;

const Tensor& FastGraph::run(const Tensor& input) {
  impl_->run(&input, nullptr, nullptr);
  return impl_->plain[impl_->g.output];
}

const Tensor& FastGraph::rerun(const Tensor* input, const std::vector<bool>& dirty_nodes,
                               const std::vector<bool>& requantize) {
  GAMMAQ_CHECK(dirty_nodes.size() == impl_->g.nodes.size(), "rerun: one flag per node");
  GAMMAQ_CHECK(
      requantize.empty() || (impl_->keep_raw && requantize.size() == impl_->g.values.size()),
      "rerun: requantize needs keep_unquantized and one flag per value");
  impl_->run(input, &dirty_nodes, requantize.empty() ? nullptr : &requantize);
  return impl_->plain[impl_->g.output];
}

void FastGraph::reload_constants(size_t node) {
  GAMMAQ_CHECK(node < impl_->reload.size(), "reload_constants: node ", node);
  if (impl_->reload[node]) impl_->reload[node]();
}

const Tensor& FastGraph::plain(int id) {
  FastGraphImpl& m = *impl_;
  GAMMAQ_CHECK(id >= 0 && static_cast<size_t>(id) < m.plain.size() && !m.g.values[id].is_constant &&
                   !m.plain[id].shape.empty(),
               "value ", id, " is not an activation");
  if (!m.plain_fresh[id]) {
    m.to_plain(id);
    m.stream.wait();
    m.plain_fresh[id] = true;
  }
  return m.plain[id];
}

std::string FastGraph::impl_name(size_t index) const { return impl_->impl[index]; }

void set_kernel_threads(int threads) { omp_set_num_threads(threads); }
int kernel_threads() { return omp_get_max_threads(); }

}  // namespace gammaq::kernels
