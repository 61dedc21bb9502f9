// Per-layer sensitivity: which tensor, rounded alone to B bits with everything else float,
// costs the most validation accuracy -- and which to keep wider. Each candidate (a layer's
// weights, a feature map) is scored on the validation set through the tuning's prefix cache
// (pipeline/tuning_set.h): a candidate re-runs only the nodes downstream of its tensor.
#pragma once

#include <limits>
#include <string>
#include <vector>

#include "gammaq/dataset.h"
#include "gammaq/graph.h"
#include "pipeline/quantize.h"
#include "pipeline/tune.h"

namespace gammaq {

struct SensitivityOptions {
  int bits = 4;             // the width each candidate is rounded to
  int keep_bits = 8;        // the width the suggestion keeps its tensors at
  double max_loss = 1.0;    // top-1 points the suggestion aims to stay within
  int max_attempts = 6;     // suggestions checked by running (each keeps more tensors)
  QuantizeOptions quant;    // how formats are chosen (method, granularity, calibration)
  TuneOptions eval;         // validation chunks, cache, threads, limit
  Dataset* test = nullptr;  // also measure the final suggestion here (optional)
};

struct TensorSensitivity {
  std::string name;               // the layer (weights) or the tensor (feature map)
  std::string tensor;             // "weight" or "output"
  double top1 = 0;                // validation top-1 with only this tensor at `bits`
  double loss_points = 0;         // float top-1 minus top1, in points
  double sqnr_db = 0;             // SQNR of the network output (logits) against the float network's
  double rerun_mac_fraction = 1;  // MACs this candidate re-ran / the whole network's
};

struct SensitivityAttempt {
  size_t keep = 0;  // the first `keep` of the ranking kept at keep_bits
  double predicted_loss = 0, measured_loss = 0;
};

struct SensitivityReport {
  int bits = 0, keep_bits = 0;
  int64_t images = 0;
  double float_top1 = 0;
  double all_top1 = 0;                    // every tensor at `bits`
  std::vector<TensorSensitivity> ranked;  // worst first
  // The suggestion: a prefix of the ranking kept at keep_bits. The search starts at the
  // shortest prefix whose predicted loss (the sum of the isolated losses of the tensors left
  // at `bits`) is within max_loss, keeps more while the measured loss is over it, and bisects
  // towards fewer once it is within (at most max_attempts runs): the shortest prefix measured
  // within the target, or the last one tried when none was.
  std::vector<SensitivityAttempt> attempts;
  size_t keep = 0;
  double predicted_loss = 0, measured_loss = 0;
  bool met = false;
  double test_loss = std::numeric_limits<double>::quiet_NaN();  // with options.test
  double seconds_rank = 0, seconds_suggest = 0;
  int64_t evaluations = 0;
  bool cached = false;
  std::string cache_note;
  double rerun_mac_fraction = 1;  // over all candidates
  quant::QuantPlan plan;          // the plan at `bits` the candidates take their formats from
  quant::QuantPlan suggested;     // the plan of the final attempt
};

// Throws Error(InvalidOption) for widths outside 2..16 or a negative max_loss,
// Error(InvalidData) for empty or unlabelled validation data.
[[nodiscard]] SensitivityReport sensitivity(const Graph& g, Dataset& calib, Dataset& val,
                                            const SensitivityOptions& o);

}  // namespace gammaq
