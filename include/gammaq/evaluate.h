// Accuracy of a graph on a labelled dataset: top-1/top-5 with ONNX ArgMax's tie rule.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

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

}  // namespace gammaq
