// Accuracy of a graph on a labelled dataset: top-1/top-5 with ONNX ArgMax's tie rule; and the
// metrics that need no labels: a quantized model's outputs scored against the float model's.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "gammaq/dataset.h"
#include "gammaq/executor.h"

namespace gammaq {

struct Accuracy {
  int64_t images = 0;
  int64_t top1_correct = 0;
  int64_t top5_correct = 0;
  int64_t tied_top1 = 0;         // images whose largest logit is shared by 2+ classes
  double inference_seconds = 0;  // time inside Executor::run only
  [[nodiscard]] double top1() const { return images ? double(top1_correct) / images : 0.0; }
  [[nodiscard]] double top5() const { return images ? double(top5_correct) / images : 0.0; }
  [[nodiscard]] double images_per_s() const {
    return inference_seconds > 0 ? images / inference_seconds : 0.0;
  }
};

// Rank of class `label` when classes are sorted by descending score, ties ranked by the lower
// class index first (ONNX ArgMax / TopK rule). 0 means top-1.
[[nodiscard]] int64_t label_rank(std::span<const float> scores, int64_t label) noexcept;
// Per image of [N, ...] scores, the index of its first largest value (ONNX ArgMax over the
// flattened row): the float model's top-1 that label-free scoring uses as labels.
[[nodiscard]] std::vector<int64_t> top1_classes(const Tensor& scores);
// True when the largest score is shared by two or more classes.
[[nodiscard]] bool top_is_tied(std::span<const float> scores) noexcept;

// Adds one batch of [N, classes] scores to `acc`.
void accumulate_accuracy(const Tensor& scores, std::span<const int64_t> labels, Accuracy& acc);

struct EvalOptions {
  int64_t batch = 64;
  int64_t limit = -1;  // < 0: the whole dataset
  // Called after each batch with the number of images done, the batch's images and its
  // outputs.
  std::function<void(int64_t done, const Tensor& images, const Tensor& outputs)> on_batch;
};

// Runs `exec` over `data` in batches. Error(InvalidData) when the dataset has no labels or
// its images do not match the model input.
[[nodiscard]] Accuracy evaluate(Executor& exec, Dataset& data, const EvalOptions& options);

// One graph output of a quantized model against the float model's, over a dataset. Every
// output has its SQNR; an output [N, K] with K > 1 (or [N, K, 1, 1]) is a classifier's and
// has the share of images whose top-1 class (ONNX ArgMax) is float's; an output [N, K, H, W]
// with H * W > 1 is a map and has the mean IoU of its per-pixel classes against float's (the
// argmax over K; for K = 1, the value above the map threshold or not: two classes).
struct OutputAgreement {
  std::string name;
  Shape shape;                   // batch-1 shape
  double signal = 0, noise = 0;  // sum of float^2, sum of (quantized - float)^2
  int64_t images = 0;
  int64_t top1_agree = 0;           // classifier outputs
  std::vector<int64_t> inter, uni;  // map outputs: per class, pixels in both / in either
  [[nodiscard]] bool classifier() const;
  [[nodiscard]] bool map() const;
  // 10 log10(signal / noise); +inf when equal (noise 0).
  [[nodiscard]] double sqnr_db() const;
  [[nodiscard]] double top1_agreement() const {
    return images ? double(top1_agree) / double(images) : 0.0;
  }
  // Mean over the classes present in either map (1 when no pixel was ever classified).
  [[nodiscard]] double miou() const;
};

struct Agreement {
  int64_t images = 0;
  std::vector<OutputAgreement> outputs;  // graph_outputs() order
  // The first output's agreement (top-1 agreement of a classifier, mean IoU of a map, else
  // SQNR in dB): what a command prints first and what --metric agreement/miou/sqnr read.
  [[nodiscard]] const OutputAgreement& first() const { return outputs.front(); }
};

struct AgreementOptions {
  int64_t batch = 64;
  int64_t limit = -1;          // < 0: the whole dataset
  float map_threshold = 0.5f;  // K = 1 maps: a pixel's class is value > threshold
  // Called after each batch with the number of images done and the quantized model's output.
  std::function<void(int64_t done, const Tensor& quantized_output)> on_batch;
};

// A quantized model and its float reference on the same images.
struct PairScores {
  // Top-1/top-5 of each where the data has labels (images 0 otherwise); inference_seconds is
  // each executor's own time either way.
  Accuracy reference, quantized;
  Agreement agreement;  // every output against the reference's (no labels needed)
};

// Runs `reference` (the float model) and `quantized` (the same graph under a simulation or on
// integers) on each batch of `data`: both accuracies where it has labels, and every output's
// agreement. Error(InvalidData) when the images do not match the model input.
[[nodiscard]] PairScores evaluate_pair(Executor& reference, Executor& quantized, Dataset& data,
                                       const AgreementOptions& options);
// An empty Agreement for g's outputs (graph_outputs order), for accumulate_agreement.
[[nodiscard]] Agreement agreement_for(const Graph& g);
// Adds one batch (float outputs `ref`, quantized `got`, one tensor per graph output).
void accumulate_agreement(std::span<const Tensor* const> ref, std::span<const Tensor* const> got,
                          float map_threshold, Agreement& a);

}  // namespace gammaq
