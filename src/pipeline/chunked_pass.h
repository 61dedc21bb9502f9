// One pass over the calibration images whose results do not depend on the thread count.
//
// The images are cut into chunks of `batch` images. Each worker thread owns an executor whose
// kernels run single-threaded, so a chunk's values are bitwise the same however many workers
// there are; each chunk feeds its own partial result, and the partial results are merged on the
// calling thread in chunk order. Parallelism comes from running chunks side by side.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "gammaq/dataset.h"
#include "gammaq/executor.h"
#include "gammaq/graph.h"

namespace gammaq {

// Runs f(0) .. f(workers - 1) on as many threads, each with one kernel thread (so oneDNN
// computes the same bits whatever the worker count), and rethrows the first worker's error.
void on_single_threaded_workers(size_t workers, const std::function<void(size_t)>& f);

// What one chunk accumulates: `tap` sees every value the executor produces for the chunk.
class ChunkSink {
 public:
  virtual ~ChunkSink() = default;
  virtual void tap(int value_id, const Tensor& value, int64_t first_image) = 0;
};

struct ChunkedPassOptions {
  int64_t images = 0;  // the first `images` images of the dataset
  int64_t batch = 64;  // images per chunk
  int workers = 0;     // 0: the process's kernel thread count
  bool quiet = false;  // progress lines on stderr unless set
  const char* what = "calibrate";
};

class ChunkedPass {
 public:
  // `fake_quant` (may be null) must outlive the pass object.
  ChunkedPass(const Graph& g, const FakeQuant* fake_quant, int workers);
  ~ChunkedPass();
  ChunkedPass(const ChunkedPass&) = delete;
  ChunkedPass& operator=(const ChunkedPass&) = delete;

  // Runs the images through the graph. `make` creates each chunk's sink (on the calling
  // thread); `merge` receives the sinks in chunk order (on the calling thread). A worker's
  // exception is rethrown here.
  void run(Dataset& data, const ChunkedPassOptions& options,
           const std::function<std::unique_ptr<ChunkSink>()>& make,
           const std::function<void(ChunkSink&)>& merge);

  [[nodiscard]] int workers() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gammaq
