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

struct FakeQuant;      // engine/fake_quant.h
class IntegerProgram;  // engine/integer.h
class IntegerKernels;  // engine/integer.h

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
  // With a simulation: each rounded activation also keeps its value before rounding, so
  // rerun() can round it again to a changed format without re-running its producer (feature-
  // map tuning). Costs one more copy of every rounded activation.
  bool keep_unquantized = false;
  // Integer numerics (must outlive the executor): every activation is an integer code of its
  // format and every node runs its bit-exact integer kernel (`fake_quant` is ignored). `impl`
  // Fast runs convolutions of <= 8-bit operands on oneDNN's int8 kernels, Reference only the
  // int32/int64 loops; both give the same integers. run() returns the output's codes times
  // its step, exactly.
  const IntegerProgram* integer = nullptr;
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
  // Prefix caching: re-runs only the nodes flagged in `dirty_nodes` (one flag per node, graph
  // order) on the values the last run() or rerun() left, plus the input when `images` is
  // given (same batch size as the last run). Every other value keeps its last contents, so
  // the caller must flag every node downstream of a change. With keep_unquantized,
  // `requantize` (empty, or one flag per value) names activations whose format changed but
  // whose producer did not: they are rounded again from their kept unrounded values. Taps
  // are not called.
  const Tensor& rerun(const Tensor* images, const std::vector<bool>& dirty_nodes,
                      const std::vector<bool>& requantize = {});
  // After the caller changed node `node`'s quantized weights or bias in the FakeQuant this
  // executor reads, makes the next run use them. (Activation formats are read at every run.)
  void reload_constants(size_t node);
  // The plain NCHW tensor of activation `id` from the last run.
  [[nodiscard]] const Tensor& value(int id);
  // With integer numerics: the codes of activation `id` from the last run (NCHW).
  [[nodiscard]] const std::vector<int32_t>& codes(int id) const;
  // With a simulation, keep_unquantized and Reference kernels: activation `id`'s values from
  // the last run before they were rounded to its format (after any fused activation); empty
  // for a value that is not rounded, or under Fast kernels.
  [[nodiscard]] const std::vector<float>& unquantized(int id) const;
  // The kernel that ran node `node_index` in the last run ("reference", or oneDNN's name).
  [[nodiscard]] std::string kernel_name(size_t node_index);
  void set_tap(Tap tap) { tap_ = std::move(tap); }
  [[nodiscard]] const ExecutorOptions& options() const noexcept { return options_; }
  [[nodiscard]] const Graph& graph() const noexcept { return g_; }
  // Integer numerics with Fast kernels: the int8 kernels made so far (null before the first
  // run, or with Reference kernels).
  [[nodiscard]] const IntegerKernels* integer_kernels() const noexcept {
    return int_kernels_.get();
  }

 private:
  void prepare(int64_t batch);
  const Tensor& run_reference(const Tensor* images, const std::vector<bool>& dirty_nodes,
                              const std::vector<bool>& requantize, bool tap);

  const Graph& g_;
  ExecutorOptions options_;
  std::vector<Tensor> acts_;  // one per value; constants stay empty (read from the graph)
  std::vector<std::vector<float>> raw_;      // keep_unquantized: values before rounding
  std::vector<std::vector<int32_t>> codes_;  // integer numerics: per value
  int64_t batch_ = -1;
  Tap tap_;
  struct FastState;
  std::unique_ptr<FastState> fast_;
  std::unique_ptr<IntegerKernels> int_kernels_;  // integer numerics with Fast kernels
};

}  // namespace gammaq
