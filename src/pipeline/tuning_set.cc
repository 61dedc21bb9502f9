#include "pipeline/tuning_set.h"

#include <algorithm>
#include <cmath>

#include "gammaq/error.h"
#include "gammaq/evaluate.h"
#include "kernels/fast/fast.h"
#include "pipeline/chunked_pass.h"

namespace gammaq {

void Change::merge(const Change& o) {
  if (nodes.empty()) nodes.assign(o.nodes.size(), false);
  if (values.empty()) values.assign(o.values.size(), false);
  for (size_t i = 0; i < o.nodes.size(); ++i) nodes[i] = nodes[i] || o.nodes[i];
  for (size_t i = 0; i < o.values.size(); ++i) values[i] = values[i] || o.values[i];
  input = input || o.input;
}

void add_scores(const Tensor& logits, std::span<const int64_t> labels, TuneScore& s) {
  const int64_t n = logits.shape[0], classes = logits.numel() / n;
  for (int64_t i = 0; i < n; ++i) {
    const std::span<const float> row(logits.data.data() + i * classes,
                                     static_cast<size_t>(classes));
    const int64_t label = labels[static_cast<size_t>(i)];
    const int64_t rank = label_rank(row, label);
    s.top1 += rank == 0;
    s.top5 += rank < 5;
    s.hit.push_back(static_cast<uint8_t>((rank == 0 ? 1 : 0) | (rank < 5 ? 2 : 0)));
    double mx = row[0];
    for (float v : row) mx = std::max(mx, static_cast<double>(v));
    double z = 0;
    for (float v : row) z += std::exp(static_cast<double>(v) - mx);
    s.log_prob += static_cast<double>(row[static_cast<size_t>(label)]) - mx - std::log(z);
  }
  s.images += n;
}

TuningSet::TuningSet(const Graph& g, Dataset& val, const TuneOptions& o, const FakeQuant& fq,
                     TuneReport& rep)
    : g_(g), fq_(fq) {
  const int64_t total = o.limit < 0 ? val.size() : std::min(o.limit, val.size());
  if (total < 1) throw Error(ErrorKind::InvalidData, "the validation set holds no images");
  if (!val.has_labels() && !o.agreement)
    throw Error(ErrorKind::InvalidData,
                "the validation set has no labels; tuning needs them (or --metric agreement)");
  const int64_t batch = std::max<int64_t>(o.batch, 1);
  std::unique_ptr<Executor> reference;
  // One thread, as the chunks run: the float top-1 is the same bits whatever the thread count.
  if (o.agreement) reference = std::make_unique<Executor>(g, ExecutorOptions{KernelImpl::Fast, 1});
  for (int64_t b = 0; b < total; b += batch) {
    Batch bt = val.read(b, std::min(batch, total - b));
    // The float model's top-1 as each image's label.
    if (reference) bt.labels = top1_classes(reference->run(bt.images));
    chunks_.push_back(Chunk{std::move(bt.images), std::move(bt.labels), nullptr, {}, {}});
  }
  workers_ = o.threads > 0 ? o.threads : kernels::kernel_threads();
  workers_ = std::max(1, std::min<int>(workers_, static_cast<int>(chunks_.size())));
  // Cache size: every activation of every image, counted twice for oneDNN's blocked copies,
  // and once more for the unrounded copy of each rounded activation.
  double per_image = 0;
  for (size_t v = 0; v < g.values.size(); ++v) {
    if (g.values[v].is_constant) continue;
    const double bytes = static_cast<double>(shape_numel(g.values[v].shape)) * 4.0;
    per_image += bytes * (fq.value_format[v] ? 3.0 : 2.0);
  }
  rep.cache_mib = per_image * static_cast<double>(total) / (1024.0 * 1024.0);
  cached_ = o.cache && rep.cache_mib <= static_cast<double>(o.cache_mb);
  if (!o.cache)
    rep.cache_note = "--no-cache";
  else if (!cached_)
    rep.cache_note = str_cat("the cache would need ", static_cast<int64_t>(rep.cache_mib),
                             " MiB > --cache-mb ", o.cache_mb, ": running without it");
  rep.cached = cached_;
  worker_exec_.resize(static_cast<size_t>(workers_));
}

TuningSet::~TuningSet() = default;

void TuningSet::constants_changed(const std::vector<size_t>& nodes) {
  pending_.insert(pending_.end(), nodes.begin(), nodes.end());
}

int64_t TuningSet::images() const {
  int64_t n = 0;
  for (const Chunk& c : chunks_) n += c.images.shape[0];
  return n;
}

void TuningSet::keep_reference() {
  for (Chunk& c : chunks_) c.reference = c.last;
  have_reference_ = true;
}

TuneScore TuningSet::evaluate(const Change& change) {
  const std::vector<size_t> reload = std::move(pending_);
  pending_.clear();
  Change now = change;
  now.merge(stale_);
  stale_ = Change{};
  std::vector<TuneScore> scores(chunks_.size());
  on_single_threaded_workers(static_cast<size_t>(workers_), [&](size_t w) {
    if (!cached_)
      for (auto& [b, e] : worker_exec_[w])
        for (size_t n : reload) e->reload_constants(n);
    for (size_t c = w; c < chunks_.size(); c += static_cast<size_t>(workers_)) {
      Chunk& ch = chunks_[c];
      const Tensor* out = nullptr;
      if (cached_) {
        if (!ch.exec) {
          ch.exec =
              std::make_unique<Executor>(g_, ExecutorOptions{KernelImpl::Fast, 0, &fq_, true});
          out = &ch.exec->run(ch.images);
        } else {
          for (size_t n : reload) ch.exec->reload_constants(n);
          out = &ch.exec->rerun(now.input ? &ch.images : nullptr, now.nodes, now.values);
        }
      } else {
        std::unique_ptr<Executor>& e = worker_exec_[w][ch.images.shape[0]];
        if (!e) e = std::make_unique<Executor>(g_, ExecutorOptions{KernelImpl::Fast, 0, &fq_});
        out = &e->run(ch.images);
      }
      add_scores(*out, ch.labels, scores[c]);
      ch.last = out->data;
      if (have_reference_)
        for (size_t i = 0; i < ch.last.size() && i < ch.reference.size(); ++i) {
          const double r = ch.reference[i], d = r - static_cast<double>(ch.last[i]);
          scores[c].output_signal += r * r;
          scores[c].output_noise += d * d;
        }
    }
  });
  TuneScore total;
  for (const TuneScore& s : scores) {
    total.images += s.images;
    total.top1 += s.top1;
    total.top5 += s.top5;
    total.log_prob += s.log_prob;
    total.output_signal += s.output_signal;
    total.output_noise += s.output_noise;
    total.hit.insert(total.hit.end(), s.hit.begin(), s.hit.end());
  }
  return total;
}

}  // namespace gammaq
