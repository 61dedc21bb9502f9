// The fast float path: a whole graph compiled to oneDNN primitives.
//
// Activations stay in the layout oneDNN's primitives prefer (blocked nChw8c on AVX2) from one
// primitive to the next; reorders are inserted only where a layout changes. Convolution,
// Gemm (inner product), pooling, LRN, Concat, Add/Mul and unfused activations run in oneDNN;
// every other operator runs its reference kernel on plain NCHW tensors. Fused activations
// become oneDNN post-ops. Each FastGraph is built for one batch size.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "gammaq/graph.h"
#include "quant/simulation.h"

namespace gammaq::kernels {

struct FastGraphImpl;  // kernels/fast/fast_builder.h

class FastGraph {
 public:
  // The graph (and `fake_quant`, when given) must outlive the FastGraph. With `fake_quant`,
  // weights and biases are its quantized copies and every activation is rounded to its format
  // after it is produced -- a fast approximation of the exact simulation: oneDNN accumulates
  // in float32, so a result that lands within float rounding of a rounding boundary may
  // differ by one step from the reference executor's exact double accumulation.
  // With `keep_unquantized`, each rounded activation also keeps its value before rounding, so
  // rerun() can round it again to a changed format without re-running its producer.
  FastGraph(const Graph& g, int64_t batch, const FakeQuant* fake_quant = nullptr,
            bool keep_unquantized = false);
  ~FastGraph();
  FastGraph(const FastGraph&) = delete;
  FastGraph& operator=(const FastGraph&) = delete;

  // Runs the graph on plain NCHW `input` (batch rows); returns the plain graph output.
  const Tensor& run(const Tensor& input);
  // Re-runs part of the graph on the values the last run left (prefix caching): the steps of
  // the nodes flagged in `dirty_nodes` (one flag per node, in graph order; a node's inputs
  // must be clean or dirty-and-earlier) and, when `input` is given, the input's copy and
  // quantization, and (one flag per value, needs keep_unquantized) the rounding again of the
  // kept unrounded values flagged in `requantize` (re-running the producer instead where its
  // kernel rounds, so keeps no unrounded value). Everything else keeps its last values.
  // Returns the plain graph output.
  const Tensor& rerun(const Tensor* input, const std::vector<bool>& dirty_nodes,
                      const std::vector<bool>& requantize = {});
  // Re-reads node `node`'s weights and bias (the fake-quant copies when the simulation has
  // them) after the caller changed them. Activation formats need no call: they are read from
  // the simulation at every run.
  void reload_constants(size_t node);
  // Plain (row-major NCHW) tensor of activation `id` from the last run; converted on demand.
  const Tensor& plain(int id);
  // The implementation oneDNN chose for node `index` ("ref" for the reference fallback).
  [[nodiscard]] std::string impl_name(size_t index) const;

 private:
  std::unique_ptr<FastGraphImpl> impl_;
};

// Sets the number of threads the fast and reference kernels use (OpenMP).
void set_kernel_threads(int threads);
[[nodiscard]] int kernel_threads();

}  // namespace gammaq::kernels
