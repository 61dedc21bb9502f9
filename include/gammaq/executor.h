// Executor: runs a Graph on batches of images. One executor serves every stage; the kernel
// implementation (reference or fast) is an option, forceable with GAMMAQ_KERNELS.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gammaq/graph.h"
#include "gammaq/tensor.h"

namespace gammaq {

struct FakeQuant;  // engine/fake_quant.h

enum class KernelImpl {
  Reference,  // plain loops, double accumulation: the definition of correct
  Fast,       // oneDNN for Conv, Gemm, pooling, LRN; reference for the rest
};

struct ExecutorOptions {
  KernelImpl impl = KernelImpl::Fast;
  // Threads for kernels (OpenMP); 0 keeps the process default (all cores, or OMP_NUM_THREADS).
  int threads = 0;
  // Fixed-point simulation to apply (must outlive the executor); null: float. With Reference
  // kernels the simulation is exact (double accumulation of exactly representable products);
  // with Fast kernels it is oneDNN's float32 accumulation of the same quantized operands, which
  // can differ by one step where a value falls within float rounding of a rounding boundary.
  const FakeQuant* fake_quant = nullptr;
};

// Reads GAMMAQ_KERNELS (reference|fast) when set, else returns `fallback`. Throws
// Error(InvalidOption) for any other value.
[[nodiscard]] KernelImpl kernel_impl_from_env(KernelImpl fallback);

// Called after each node with the value id and tensor it produced (batch shape).
using Tap = std::function<void(int value_id, const Tensor& value)>;

class Executor {
 public:
  // The graph must outlive the executor and must have passed validate().
  Executor(const Graph& graph, ExecutorOptions options);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Runs the graph on `images` [N, C, H, W]; returns the graph output [N, ...]. The returned
  // reference stays valid until the next run. Throws Error(InvalidData) when the image shape
  // does not match the graph input.
  const Tensor& run(const Tensor& images);
  // The plain NCHW tensor of activation `id` from the last run.
  [[nodiscard]] const Tensor& value(int id);
  // The kernel that ran node `node_index` in the last run ("reference", or oneDNN's name).
  [[nodiscard]] std::string kernel_name(size_t node_index);
  void set_tap(Tap tap) { tap_ = std::move(tap); }
  [[nodiscard]] const ExecutorOptions& options() const noexcept { return options_; }

 private:
  void prepare(int64_t batch);

  const Graph& g_;
  ExecutorOptions options_;
  std::vector<Tensor> acts_;  // one per value; constants stay empty (read from the graph)
  int64_t batch_ = -1;
  Tap tap_;
  struct FastState;
  std::unique_ptr<FastState> fast_;
};

}  // namespace gammaq
