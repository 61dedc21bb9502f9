#include "gammaq/evaluate.h"

#include <algorithm>
#include <chrono>

#include "gammaq/error.h"

namespace gammaq {

int64_t label_rank(std::span<const float> scores, int64_t label) noexcept {
  const float s = scores[static_cast<size_t>(label)];
  int64_t rank = 0;
  for (size_t j = 0; j < scores.size(); ++j)
    if (scores[j] > s || (scores[j] == s && static_cast<int64_t>(j) < label)) ++rank;
  return rank;
}

bool top_is_tied(std::span<const float> scores) noexcept {
  const float best = *std::max_element(scores.begin(), scores.end());
  return std::count(scores.begin(), scores.end(), best) > 1;
}

void accumulate_accuracy(const Tensor& scores, std::span<const int64_t> labels, Accuracy& acc) {
  const int64_t n = scores.shape[0];
  const int64_t classes = scores.numel() / n;
  for (int64_t i = 0; i < n; ++i) {
    std::span<const float> row(scores.data.data() + i * classes, static_cast<size_t>(classes));
    const int64_t label = labels[static_cast<size_t>(i)];
    if (label >= 0 && label < classes) {
      const int64_t r = label_rank(row, label);
      acc.top1_correct += r < 1;
      acc.top5_correct += r < 5;
    }
    acc.tied_top1 += top_is_tied(row);
    ++acc.images;
  }
}

Accuracy evaluate(Executor& exec, Dataset& data, const EvalOptions& options) {
  if (!data.has_labels())
    throw Error(ErrorKind::InvalidData, "dataset has no labels; accuracy needs labels");
  const int64_t total = options.limit < 0 ? data.size() : std::min(options.limit, data.size());
  Accuracy acc;
  for (int64_t begin = 0; begin < total; begin += options.batch) {
    const int64_t count = std::min(options.batch, total - begin);
    Batch b = data.read(begin, count);
    const auto t0 = std::chrono::steady_clock::now();
    const Tensor& out = exec.run(b.images);
    acc.inference_seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    accumulate_accuracy(out, b.labels, acc);
    if (options.on_batch) options.on_batch(begin + count, b.images, out);
  }
  return acc;
}

}  // namespace gammaq
