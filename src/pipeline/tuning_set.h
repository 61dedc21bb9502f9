// The validation set of tuning and sensitivity, held in fixed chunks with a prefix cache
// (ALGORITHMS.md 5): each chunk owns an executor whose activations persist between
// evaluations, so an evaluation after a format change re-runs only the nodes the change makes
// stale (Executor::rerun). Chunks run single-threaded side by side and their scores are merged
// in chunk order, so results do not depend on the thread count, and they are the same with and
// without the cache.
#pragma once

#include <map>
#include <memory>
#include <vector>

#include "engine/fake_quant.h"
#include "gammaq/dataset.h"
#include "gammaq/executor.h"
#include "gammaq/graph.h"
#include "pipeline/tune.h"

namespace gammaq {

// What a format change makes stale: nodes to re-run, values to round again from their kept
// unrounded copies (an activation whose format changed but whose producer did not), and the
// network input (its format changed: the images are fed again).
struct Change {
  std::vector<bool> nodes, values;
  bool input = false;
  void merge(const Change& o);
};

// Adds one chunk's logits to a score (top-1/top-5 with ONNX ArgMax ties, log-probability of
// the true class, per-image hits).
void add_scores(const Tensor& logits, std::span<const int64_t> labels, TuneScore& s);

// The validation images in fixed chunks. With the cache, each chunk owns an executor whose
// activations persist, so an evaluation re-runs only the dirty nodes; without it, each worker
// runs whole chunks on its own executors. Chunks always run single-threaded (one worker
// thread each), so a chunk's logits are the same bits either way and whatever the thread
// count; chunk scores are summed in chunk order.
class TuningSet {
 public:
  // Reads the first o.limit images of `val` (all when < 0) in chunks of o.batch; decides
  // whether the cache fits o.cache_mb and records that in rep. Throws Error(InvalidData) when
  // `val` has no images or no labels.
  TuningSet(const Graph& g, Dataset& val, const TuneOptions& o, const FakeQuant& fq,
            TuneReport& rep);
  ~TuningSet();
  TuningSet(const TuningSet&) = delete;
  TuningSet& operator=(const TuningSet&) = delete;

  // Nodes whose quantized constants the caller changed: every executor re-reads them before
  // its next run.
  void constants_changed(const std::vector<size_t>& nodes);

  // Evaluates the validation set. `change` says what changed since the last evaluation
  // (ignored the first time and without the cache).
  TuneScore evaluate(const Change& change);

  // Keeps the logits of the last evaluation as the reference: later scores carry the SQNR of
  // their logits against it (TuneScore::output_sqnr_db).
  void keep_reference();

  [[nodiscard]] bool cached() const { return cached_; }
  [[nodiscard]] int64_t images() const;

  // The caller took the score of `c` from the memo: the executors have not seen `c`, so the
  // next evaluation re-runs it too.
  void skip(const Change& c) { mark_stale(c); }

  // With the cache: the last evaluation left the values of a candidate that lost in `c`; the
  // next evaluation re-runs them too (instead of restoring them now: in the backward sweep the
  // next tensor's re-run covers them anyway).
  void mark_stale(const Change& c) {
    if (cached_) stale_.merge(c);
  }

 private:
  struct Chunk {
    Tensor images;
    std::vector<int64_t> labels;
    std::unique_ptr<Executor> exec;
    std::vector<float> last, reference;  // logits (reference: after keep_reference())
  };
  const Graph& g_;
  const FakeQuant& fq_;
  std::vector<Chunk> chunks_;
  int workers_ = 1;
  bool cached_ = false;
  bool have_reference_ = false;
  // Without the cache: per worker, one executor per chunk size.
  std::vector<std::map<int64_t, std::unique_ptr<Executor>>> worker_exec_;
  std::vector<size_t> pending_;
  Change stale_;
};

}  // namespace gammaq
