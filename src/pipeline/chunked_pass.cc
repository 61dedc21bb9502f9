#include "pipeline/chunked_pass.h"

#include <chrono>
#include <cstdio>
#include <exception>
#include <thread>
#include <vector>

#include "core/progress.h"
#include "kernels/fast/fast.h"

namespace gammaq {

void on_single_threaded_workers(size_t workers, const std::function<void(size_t)>& f) {
  std::vector<std::exception_ptr> errors(workers);
  std::vector<std::thread> threads;
  for (size_t w = 0; w < workers; ++w)
    threads.emplace_back([&, w] {
      try {
        kernels::set_kernel_threads(1);  // this thread's OpenMP setting only
        f(w);
      } catch (...) {
        errors[w] = std::current_exception();
      }
    });
  for (std::thread& t : threads) t.join();
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
}

struct ChunkedPass::Impl {
  const Graph& g;
  const FakeQuant* fq;
  // One executor per worker; each is only ever run on a thread whose kernel thread count is 1,
  // so its oneDNN primitives are created and executed single-threaded.
  std::vector<std::unique_ptr<Executor>> execs;
};

ChunkedPass::ChunkedPass(const Graph& g, const FakeQuant* fake_quant, int workers)
    : impl_(std::make_unique<Impl>(Impl{g, fake_quant, {}})) {
  if (workers <= 0) workers = kernels::kernel_threads();
  for (int w = 0; w < std::max(workers, 1); ++w)
    impl_->execs.push_back(
        std::make_unique<Executor>(g, ExecutorOptions{KernelImpl::Fast, 0, fake_quant}));
}

ChunkedPass::~ChunkedPass() = default;

int ChunkedPass::workers() const noexcept { return static_cast<int>(impl_->execs.size()); }

void ChunkedPass::run(Dataset& data, const ChunkedPassOptions& o,
                      const std::function<std::unique_ptr<ChunkSink>()>& make,
                      const std::function<void(ChunkSink&)>& merge) {
  const int64_t total = o.images, batch = std::max<int64_t>(o.batch, 1);
  const size_t workers = impl_->execs.size();
  Progress progress(o.what, total, o.quiet);
  for (int64_t round = 0; round < total; round += batch * static_cast<int64_t>(workers)) {
    // Read this round's chunks on this thread (datasets are not thread-safe).
    std::vector<Batch> chunks;
    std::vector<int64_t> firsts;
    for (size_t w = 0; w < workers; ++w) {
      const int64_t begin = round + static_cast<int64_t>(w) * batch;
      if (begin >= total) break;
      chunks.push_back(data.read(begin, std::min(batch, total - begin)));
      firsts.push_back(begin);
    }
    std::vector<std::unique_ptr<ChunkSink>> sinks;
    for (size_t c = 0; c < chunks.size(); ++c) sinks.push_back(make());
    on_single_threaded_workers(chunks.size(), [&](size_t c) {
      Executor& exec = *impl_->execs[c];
      ChunkSink& sink = *sinks[c];
      const int64_t first = firsts[c];
      exec.set_tap([&](int id, const Tensor& t) { sink.tap(id, t, first); });
      (void)exec.run(chunks[c].images);
      exec.set_tap(nullptr);
    });
    for (auto& s : sinks) merge(*s);

    progress.update(firsts.back() + chunks.back().images.shape[0]);
  }
}

}  // namespace gammaq
