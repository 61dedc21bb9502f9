// Fast float kernels (oneDNN). Each one is built for one node and one batch size, owns its
// reordered weights and primitive, and is compared against its reference twin in the tests.
#pragma once

#include <memory>

#include "gammaq/graph.h"

namespace gammaq::kernels {

class FastKernel {
 public:
  virtual ~FastKernel() = default;
  // inputs: the node's activation inputs (NCHW, batch shapes); output: NCHW.
  virtual void run(std::span<const float* const> inputs, float* output) = 0;
};

// A fast kernel for `node` at batch size `batch`, or nullptr when the op has none
// (the executor then uses the reference kernel). Conv, Gemm, MaxPool, AveragePool and LRN.
[[nodiscard]] std::unique_ptr<FastKernel> make_fast_kernel(const Graph& g, const Node& node,
                                                           int64_t batch);

// Sets the number of threads the fast and reference kernels use (OpenMP).
void set_kernel_threads(int threads);
[[nodiscard]] int kernel_threads();

}  // namespace gammaq::kernels
