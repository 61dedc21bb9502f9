#include "gammaq/evaluate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "gammaq/error.h"

namespace gammaq {

int64_t label_rank(std::span<const float> scores, int64_t label) noexcept {
  const float s = scores[static_cast<size_t>(label)];
  int64_t rank = 0;
  for (size_t j = 0; j < scores.size(); ++j)
    if (scores[j] > s || (scores[j] == s && static_cast<int64_t>(j) < label)) ++rank;
  return rank;
}

std::vector<int64_t> top1_classes(const Tensor& scores) {
  const int64_t n = scores.shape[0], per = scores.numel() / n;
  std::vector<int64_t> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const float* r = scores.data.data() + i * per;
    out[static_cast<size_t>(i)] = std::max_element(r, r + per) - r;
  }
  return out;
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

// ---------------------------------------------------------------- agreement

bool OutputAgreement::classifier() const {
  if (shape.size() == 2) return shape[1] > 1;
  return shape.size() == 4 && shape[1] > 1 && shape[2] == 1 && shape[3] == 1;
}

bool OutputAgreement::map() const { return shape.size() == 4 && shape[2] * shape[3] > 1; }

double OutputAgreement::sqnr_db() const {
  if (noise <= 0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(signal / noise);
}

double OutputAgreement::miou() const {
  double sum = 0;
  int present = 0;
  for (size_t k = 0; k < uni.size(); ++k) {
    if (uni[k] == 0) continue;
    sum += static_cast<double>(inter[k]) / static_cast<double>(uni[k]);
    ++present;
  }
  return present ? sum / present : 1.0;
}

namespace {

// First index of the largest of `n` values at stride `step` (ONNX ArgMax).
int64_t argmax_strided(const float* v, int64_t n, int64_t step) {
  int64_t best = 0;
  for (int64_t k = 1; k < n; ++k)
    if (v[k * step] > v[best * step]) best = k;
  return best;
}

}  // namespace

void accumulate_agreement(std::span<const Tensor* const> ref, std::span<const Tensor* const> got,
                          float map_threshold, Agreement& a) {
  GAMMAQ_CHECK(ref.size() == a.outputs.size() && got.size() == a.outputs.size(), "outputs");
  const int64_t n = ref[0]->shape[0];
  for (size_t o = 0; o < a.outputs.size(); ++o) {
    OutputAgreement& out = a.outputs[o];
    const Tensor &r = *ref[o], &q = *got[o];
    GAMMAQ_CHECK(r.numel() == q.numel() && r.shape[0] == n, "output ", o);
    for (size_t i = 0; i < r.data.size(); ++i) {
      const double x = r.data[i], d = static_cast<double>(q.data[i]) - x;
      out.signal += x * x;
      out.noise += d * d;
    }
    const int64_t per = r.numel() / n;
    if (out.classifier()) {
      for (int64_t i = 0; i < n; ++i)
        out.top1_agree += argmax_strided(r.data.data() + i * per, per, 1) ==
                          argmax_strided(q.data.data() + i * per, per, 1);
    } else if (out.map()) {
      const int64_t k = out.shape[1], hw = out.shape[2] * out.shape[3];
      const int64_t classes = k == 1 ? 2 : k;
      out.inter.resize(static_cast<size_t>(classes), 0);
      out.uni.resize(static_cast<size_t>(classes), 0);
      for (int64_t i = 0; i < n; ++i) {
        const float* rp = r.data.data() + i * per;
        const float* qp = q.data.data() + i * per;
        for (int64_t p = 0; p < hw; ++p) {
          const int64_t cr = k == 1 ? (rp[p] > map_threshold) : argmax_strided(rp + p, k, hw);
          const int64_t cq = k == 1 ? (qp[p] > map_threshold) : argmax_strided(qp + p, k, hw);
          if (cr == cq) {
            ++out.inter[static_cast<size_t>(cr)];
            ++out.uni[static_cast<size_t>(cr)];
          } else {
            ++out.uni[static_cast<size_t>(cr)];
            ++out.uni[static_cast<size_t>(cq)];
          }
        }
      }
    }
    out.images += n;
  }
  a.images += n;
}

Agreement agreement_for(const Graph& g) {
  Agreement a;
  for (int v : graph_outputs(g)) {
    OutputAgreement o;
    o.name = g.values[static_cast<size_t>(v)].name;
    o.shape = g.values[static_cast<size_t>(v)].shape;
    a.outputs.push_back(std::move(o));
  }
  return a;
}

PairScores evaluate_pair(Executor& reference, Executor& quantized, Dataset& data,
                         const AgreementOptions& options) {
  const std::vector<int> outs = graph_outputs(reference.graph());
  PairScores s;
  s.agreement = agreement_for(reference.graph());
  const int64_t total = options.limit < 0 ? data.size() : std::min(options.limit, data.size());
  auto timed = [](Executor& e, const Tensor& x, Accuracy& acc) -> const Tensor& {
    const auto t0 = std::chrono::steady_clock::now();
    const Tensor& y = e.run(x);
    acc.inference_seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return y;
  };
  for (int64_t begin = 0; begin < total; begin += options.batch) {
    const int64_t count = std::min(options.batch, total - begin);
    const Batch b = data.read(begin, count);
    const Tensor& ry = timed(reference, b.images, s.reference);
    const Tensor& qy = timed(quantized, b.images, s.quantized);
    if (data.has_labels()) {
      accumulate_accuracy(ry, b.labels, s.reference);
      accumulate_accuracy(qy, b.labels, s.quantized);
    }
    std::vector<const Tensor*> r, q;
    for (int v : outs) {
      r.push_back(&reference.value(v));
      q.push_back(&quantized.value(v));
    }
    accumulate_agreement(r, q, options.map_threshold, s.agreement);
    if (options.on_batch) options.on_batch(begin + count, qy);
  }
  return s;
}

}  // namespace gammaq
