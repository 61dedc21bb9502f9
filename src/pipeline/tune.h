// Backward-forward tuning, BFT (ALGORITHMS.md 5, the paper's Algorithm 4): each tuned
// tensor's fractional length moves by at most +-K against the network's accuracy on a
// validation set, visiting the tensors from the output back to the input, then forward again.
//
// Prefix caching: the validation images stay in fixed chunks, each with its own executor
// whose activations persist between evaluations; a candidate re-runs only the nodes
// downstream of the tensor it changes (Executor::rerun). Chunks run single-threaded side by
// side and their scores are merged in chunk order, so results do not depend on the thread
// count, and they are the same with and without the cache.
//
// Score memo: the accuracy of every plan state evaluated in a pass is kept, keyed by the
// fracs of all tuned tensors; a candidate whose state was evaluated before (the forward sweep
// revisits the backward sweep's candidates wherever no tensor before it changed) takes its
// score from the memo instead of running the validation set again.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "gammaq/dataset.h"
#include "gammaq/graph.h"
#include "quant/plan.h"

namespace gammaq {

struct TuneOptions {
  int k = 1;        // K_BFT: candidates frac-K .. frac+K
  double c0 = 1.0;  // weight of top-1 in the metric
  double c1 = 0.0;  // weight of top-5
  // Significance a candidate needs to replace the current frac: with d_i the per-image metric
  // of the candidate minus the current one's on the same images, sum d > 0 and
  // sum d >= z * sqrt(sum d^2) (McNemar's z for the top-1 metric). 0: any gain (the paper);
  // the default 1.645, a one-sided 5% test, is gammaq's choice, not the paper's (README).
  double z = 1.645;
  bool cache = true;        // prefix caching (--no-cache: same results, slower)
  bool memo = true;         // score memo (--no-cache or --no-memo: same results, slower)
  int64_t cache_mb = 4096;  // bound on the cached activations; above it, no cache
  int64_t batch = 64;       // images per chunk
  int64_t limit = -1;       // validation images to use (< 0: all)
  int threads = 0;          // workers (0: the kernel thread count)
  bool quiet = false;       // progress on stderr unless set
  // --metric agreement: each validation image's "label" is the float model's top-1 class
  // (ONNX ArgMax of the first output), so tuning maximizes top-1 agreement with float and
  // needs no labels.
  bool agreement = false;
};

// Accuracy counts on the validation set, plus the summed log-probability of the true class
// (the tie-breaker between candidates of equal accuracy), and per image (in set order) whether
// it was top-1 / top-5 (the paired comparison of candidates).
struct TuneScore {
  int64_t images = 0, top1 = 0, top5 = 0;
  double log_prob = 0.0;
  std::vector<uint8_t> hit;  // per image: bit 0 top-1, bit 1 top-5
  // With a reference (TuningSet::keep_reference): sum of the reference logits squared and of
  // their differences from these logits squared (6.1's SQNR of the network output).
  double output_signal = 0, output_noise = 0;
  [[nodiscard]] double output_sqnr_db() const {
    return output_noise > 0 ? 10.0 * std::log10(output_signal / output_noise)
                            : std::numeric_limits<double>::infinity();
  }
  [[nodiscard]] double metric(const TuneOptions& o) const {
    return images ? (o.c0 * static_cast<double>(top1) + o.c1 * static_cast<double>(top5)) /
                        static_cast<double>(images)
                  : 0.0;
  }
};

// Throws Error(InvalidOption) naming the option for K < 0 or z not a number >= 0. tune_plan
// calls it; callers that tune late call it first to fail before calibrating.
void check_tune_options(const TuneOptions& o);

// Whether `candidate` beats `current` on the same images by the significance o.z asks for.
[[nodiscard]] bool significantly_better(const TuneScore& candidate, const TuneScore& current,
                                        const TuneOptions& o);

// One visit of one tensor.
struct TuneStep {
  std::string kind;  // "weight" (a layer's weights) or "activation" (a feature map)
  std::string name;  // layer or tensor name
  int before = 0, after = 0;
  double metric_before = 0, metric_after = 0;
  std::vector<std::pair<int, double>> tried;  // (frac, metric) of each candidate evaluated
  double seconds = 0;                         // time spent on this visit
};

struct TuneReport {
  std::string what;  // "weights" or "activations"
  std::vector<TuneStep> trace;
  TuneScore start, end;
  int64_t evaluations = 0;  // candidate evaluations of the validation set
  int64_t memo_hits = 0;    // candidates whose score came from the memo instead
  // The multiply-accumulates the candidates' changes touch (each candidate's nodes downstream
  // of its tensor), as a fraction of running the whole network for each: for a network whose
  // time is in its MACs, 1 / this bounds the speed-up any exact prefix cache can give.
  double rerun_mac_fraction = 1.0;
  double seconds = 0;
  bool cached = false;
  double cache_mib = 0;     // memory the cache needed (or would have needed)
  std::string cache_note;   // why the cache is off, when it is
  std::vector<int> visits;  // S_BFT as indices into the tuned list (for the record)
};

// Tunes the plan's weight fracs (`weights`) or activation fracs (!weights) in place, with the
// rest of the plan as it is (plan.float_activations makes feature maps float, W-BFT of WQ+).
// Throws Error(InvalidData) when `val` has no labels or no images, Error(InvalidOption) for
// K < 0 or a tuned set that is empty.
[[nodiscard]] TuneReport tune_plan(const Graph& g, quant::QuantPlan& plan, Dataset& val,
                                   bool weights, const TuneOptions& options);

}  // namespace gammaq
