// Prefix caching: Executor::rerun recomputes only what a format change touches and must give
// bitwise the result of a full run of a fresh executor, on both kernel paths.
#include <gtest/gtest.h>

#include "engine/fake_quant.h"
#include "gammaq/dataset.h"
#include "gammaq/executor.h"
#include "ir/passes.h"
#include "onnx/import.h"
#include "pipeline/quantize.h"

namespace gammaq {
namespace {

struct Fixture {
  Graph g;
  Tensor images;
  quant::QuantPlan plan;
  Fixture() {
    g = import_onnx_file(std::string(GAMMAQ_SOURCE_DIR) + "/models/googlenet.onnx");
    (void)optimize(g);
    const Preprocess pre = parse_preprocess_json(g.metadata.at("gammaq.preprocess"));
    auto test = open_dataset("fashion-mnist:test[0:8]", pre);
    images = test->read(0, 8).images;
    auto calib = open_dataset("fashion-mnist:train[0:64]", pre);
    QuantizeOptions o;
    o.wbits = o.abits = 6;
    o.threads = 1;
    o.quiet = true;
    plan = quantize_model(g, *calib, o).plan;
  }
};

const Fixture& fixture() {
  static const Fixture f;
  return f;
}

Tensor full_run(const Graph& g, const quant::QuantPlan& plan, KernelImpl impl,
                const Tensor& images) {
  const FakeQuant fq = resolve_plan(g, plan);
  Executor ex(g, {impl, 1, &fq});
  return ex.run(images);
}

// Applies `changed` to a live executor through the FakeQuant it reads, reruns the flagged
// nodes and compares with a full run.
// With `requantize` (one flag per value), the executor keeps unrounded values and rounds the
// flagged ones again instead of re-running their producers.
void expect_rerun_matches(KernelImpl impl, const quant::QuantPlan& changed,
                          const std::vector<bool>& dirty, bool input_dirty,
                          const std::vector<bool>& requantize = {}) {
  const Fixture& f = fixture();
  FakeQuant fq = resolve_plan(f.g, f.plan);
  Executor ex(f.g, {impl, 1, &fq, !requantize.empty()});
  const Tensor before = ex.run(f.images);
  const FakeQuant next = resolve_plan(f.g, changed);
  fq.value_format = next.value_format;
  for (size_t v = 0; v < fq.constant.size(); ++v) fq.constant[v] = next.constant[v];
  for (size_t i = 0; i < f.g.nodes.size(); ++i)
    if (dirty[i]) ex.reload_constants(i);
  const Tensor partial = ex.rerun(input_dirty ? &f.images : nullptr, dirty, requantize);
  const Tensor want = full_run(f.g, changed, impl, f.images);
  EXPECT_EQ(partial.data, want.data);
  EXPECT_NE(before.data, want.data) << "the change must matter for the test to mean anything";
}

std::vector<bool> dirty_from_value(const Graph& g, int v) {
  std::vector<bool> d = nodes_downstream_of(g, v);
  if (g.values[v].producer >= 0) d[static_cast<size_t>(g.values[v].producer)] = true;
  return d;
}

TEST(RerunTest, ActivationFormatChange) {
  const Fixture& f = fixture();
  const std::string name = "/stem/stem.4/LRN_output_0";
  quant::QuantPlan changed = f.plan;
  changed.activations.at(name).format.frac -= 2;
  const auto dirty = dirty_from_value(f.g, f.g.find_value(name));
  for (KernelImpl impl : {KernelImpl::Fast, KernelImpl::Reference}) {
    SCOPED_TRACE(impl == KernelImpl::Fast ? "fast" : "reference");
    expect_rerun_matches(impl, changed, dirty, false);
  }
}

// Feature-map tuning's path: the producer is not re-run; its kept unrounded output is rounded
// to the new format. Without re-rounding (flags cleared) the result must differ. LRN's kernel
// rounds inside (the simulation's fixed point), so keeps no unrounded value: the fast path
// re-runs it instead, to the same result.
TEST(RerunTest, ActivationFormatChangeRoundsKeptValue) {
  const Fixture& f = fixture();
  for (const std::string name :
       {"/stem/stem.3/MaxPool_output_0", "/stem/stem.4/LRN_output_0", "input"}) {
    SCOPED_TRACE(name);
    quant::QuantPlan changed = f.plan;
    changed.activations.at(name).format.frac -= 2;
    const int v = f.g.find_value(name);
    const auto dirty = nodes_downstream_of(f.g, v);
    std::vector<bool> requant(f.g.values.size(), false);
    requant[static_cast<size_t>(v)] = true;
    for (KernelImpl impl : {KernelImpl::Fast, KernelImpl::Reference}) {
      SCOPED_TRACE(impl == KernelImpl::Fast ? "fast" : "reference");
      expect_rerun_matches(impl, changed, dirty, false, requant);
      // The same rerun without the re-rounding misses the change.
      FakeQuant fq = resolve_plan(f.g, f.plan);
      Executor ex(f.g, {impl, 1, &fq, true});
      (void)ex.run(f.images);
      fq.value_format = resolve_plan(f.g, changed).value_format;
      const Tensor stale = ex.rerun(nullptr, dirty, std::vector<bool>(f.g.values.size(), false));
      EXPECT_NE(stale.data, full_run(f.g, changed, impl, f.images).data);
    }
  }
}

TEST(RerunTest, WeightFormatChange) {
  const Fixture& f = fixture();
  size_t node = 0;
  while (f.g.nodes[node].op != OpType::Conv || node < 3) ++node;
  quant::QuantPlan changed = f.plan;
  changed.layers.at(f.g.nodes[node].name).weight.frac -= 1;
  std::vector<bool> dirty = nodes_downstream_of(f.g, f.g.nodes[node].outputs[0]);
  dirty[node] = true;
  for (KernelImpl impl : {KernelImpl::Fast, KernelImpl::Reference}) {
    SCOPED_TRACE(impl == KernelImpl::Fast ? "fast" : "reference");
    expect_rerun_matches(impl, changed, dirty, false);
  }
}

TEST(RerunTest, InputFormatChange) {
  const Fixture& f = fixture();
  quant::QuantPlan changed = f.plan;
  changed.activations.at("input").format.frac -= 1;
  const auto dirty = nodes_downstream_of(f.g, f.g.input);
  for (KernelImpl impl : {KernelImpl::Fast, KernelImpl::Reference}) {
    SCOPED_TRACE(impl == KernelImpl::Fast ? "fast" : "reference");
    expect_rerun_matches(impl, changed, dirty, true);
  }
}

}  // namespace
}  // namespace gammaq
