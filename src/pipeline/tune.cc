#include "pipeline/tune.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>

#include "engine/fake_quant.h"
#include "gammaq/error.h"
#include "gammaq/evaluate.h"
#include "gammaq/executor.h"
#include "kernels/fast/fast.h"
#include "pipeline/chunked_pass.h"

namespace gammaq {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
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

// What a format change makes stale: nodes to re-run, and values to round again from their
// kept unrounded copies (an activation whose format changed but whose producer did not).
struct Change {
  std::vector<bool> nodes, values;
  void merge(const Change& o) {
    if (nodes.empty()) nodes.assign(o.nodes.size(), false);
    if (values.empty()) values.assign(o.values.size(), false);
    for (size_t i = 0; i < o.nodes.size(); ++i) nodes[i] = nodes[i] || o.nodes[i];
    for (size_t i = 0; i < o.values.size(); ++i) values[i] = values[i] || o.values[i];
  }
};

// The validation images in fixed chunks. With the cache, each chunk owns an executor whose
// activations persist, so an evaluation re-runs only the dirty nodes; without it, each worker
// runs whole chunks on its own executors. Chunks always run single-threaded (one worker
// thread each), so a chunk's logits are the same bits either way and whatever the thread
// count; chunk scores are summed in chunk order.
class TuningSet {
 public:
  TuningSet(const Graph& g, Dataset& val, const TuneOptions& o, const FakeQuant& fq,
            TuneReport& rep)
      : g_(g), fq_(fq) {
    const int64_t total = o.limit < 0 ? val.size() : std::min(o.limit, val.size());
    if (total < 1) throw Error(ErrorKind::InvalidData, "the validation set holds no images");
    if (!val.has_labels())
      throw Error(ErrorKind::InvalidData, "the validation set has no labels; tuning needs them");
    const int64_t batch = std::max<int64_t>(o.batch, 1);
    for (int64_t b = 0; b < total; b += batch) {
      Batch bt = val.read(b, std::min(batch, total - b));
      chunks_.push_back(Chunk{std::move(bt.images), std::move(bt.labels), nullptr});
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
                               " MiB > --cache-mb ", o.cache_mb, ": tuning without it");
    rep.cached = cached_;
    worker_exec_.resize(static_cast<size_t>(workers_));
  }

  // Nodes whose quantized constants the caller changed: every executor re-reads them before
  // its next run.
  void constants_changed(const std::vector<size_t>& nodes) {
    pending_.insert(pending_.end(), nodes.begin(), nodes.end());
  }

  // Evaluates the validation set. `c` says what changed since the last evaluation (ignored the
  // first time and without the cache).
  TuneScore evaluate(const Change& change) {
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
            out = &ch.exec->rerun(nullptr, now.nodes, now.values);
          }
        } else {
          std::unique_ptr<Executor>& e = worker_exec_[w][ch.images.shape[0]];
          if (!e) e = std::make_unique<Executor>(g_, ExecutorOptions{KernelImpl::Fast, 0, &fq_});
          out = &e->run(ch.images);
        }
        add_scores(*out, ch.labels, scores[c]);
      }
    });
    TuneScore total;
    for (const TuneScore& s : scores) {
      total.images += s.images;
      total.top1 += s.top1;
      total.top5 += s.top5;
      total.log_prob += s.log_prob;
      total.hit.insert(total.hit.end(), s.hit.begin(), s.hit.end());
    }
    return total;
  }

  [[nodiscard]] bool cached() const { return cached_; }

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
  };
  const Graph& g_;
  const FakeQuant& fq_;
  std::vector<Chunk> chunks_;
  int workers_ = 1;
  bool cached_ = false;
  // Without the cache: per worker, one executor per chunk size.
  std::vector<std::map<int64_t, std::unique_ptr<Executor>>> worker_exec_;
  std::vector<size_t> pending_;
  Change stale_;
};

// One tunable item: a layer's weights (node index) or an activation (value id).
struct Item {
  int node = -1, value = -1;
};

}  // namespace

void check_tune_options(const TuneOptions& o) {
  if (o.k < 0) throw Error(ErrorKind::InvalidOption, str_cat("--bft-k ", o.k, ": must be >= 0"));
  if (!(o.z >= 0) || !std::isfinite(o.z))
    throw Error(ErrorKind::InvalidOption, str_cat("--bft-z ", o.z, ": must be a number >= 0"));
}

bool significantly_better(const TuneScore& candidate, const TuneScore& current,
                          const TuneOptions& o) {
  GAMMAQ_CHECK(candidate.hit.size() == current.hit.size(), "scores of different image sets");
  double sum = 0, sum_sq = 0;
  for (size_t i = 0; i < candidate.hit.size(); ++i) {
    auto metric = [&](uint8_t h) { return o.c0 * (h & 1) + o.c1 * ((h >> 1) & 1); };
    const double d = metric(candidate.hit[i]) - metric(current.hit[i]);
    sum += d;
    sum_sq += d * d;
  }
  return sum > 0 && sum >= o.z * std::sqrt(sum_sq);
}

TuneReport tune_plan(const Graph& g, quant::QuantPlan& plan, Dataset& val, bool weights,
                     const TuneOptions& o) {
  TuneReport rep;
  rep.what = weights ? "weights" : "activations";
  check_tune_options(o);
  const auto t0 = std::chrono::steady_clock::now();

  // The tuned list, in topological order.
  std::vector<Item> items;
  if (weights) {
    // NUUQ layers stay as chosen: their codebook is a set of codes of one grid, and another
    // frac would re-index every weight.
    for (size_t i = 0; i < g.nodes.size(); ++i)
      if ((g.nodes[i].op == OpType::Conv || g.nodes[i].op == OpType::Gemm) &&
          plan.layers.at(g.nodes[i].name).weight_codebooks.empty())
        items.push_back({static_cast<int>(i), -1});
  } else if (!plan.float_activations) {
    // Threshold-quantized feature maps (ALGORITHMS.md 9) stay as chosen too: their table is
    // tied to the grid.
    auto tunable = [&](int v) {
      const auto a = plan.activations.find(g.values[static_cast<size_t>(v)].name);
      return a != plan.activations.end() && !a->second.format.table;
    };
    if (tunable(g.input)) items.push_back({-1, g.input});
    for (const Node& n : g.nodes)
      if (tunable(n.outputs[0])) items.push_back({-1, n.outputs[0]});
  }
  if (items.empty())
    throw Error(ErrorKind::InvalidOption,
                str_cat("nothing to tune: the plan has no ",
                        weights ? "uniform weight layers (NUUQ layers are not tuned)"
                                : "uniform quantized feature maps (threshold tables are not "
                                  "tuned)"));

  FakeQuant fq = resolve_plan(g, plan);
  TuningSet set(g, val, o, fq, rep);
  rep.start = set.evaluate(Change{});
  TuneScore current = rep.start;
  // The memo, keyed by every tuned tensor's frac.
  std::map<std::vector<int>, TuneScore> memo;

  auto frac_of = [&](const Item& it) -> int& {
    return it.node >= 0
               ? plan.layers.at(g.nodes[static_cast<size_t>(it.node)].name).weight.frac
               : plan.activations.at(g.values[static_cast<size_t>(it.value)].name).format.frac;
  };
  auto state = [&] {
    std::vector<int> key;
    key.reserve(items.size());
    for (const Item& it : items) key.push_back(frac_of(it));
    return key;
  };
  if (o.memo) memo.emplace(state(), rep.start);
  const int n_items = static_cast<int>(items.size());
  for (int i = n_items - 1; i >= 0; --i) rep.visits.push_back(i);
  for (int i = 1; i < n_items; ++i) rep.visits.push_back(i);

  int64_t total_macs = 0;
  for (const Node& n : g.nodes) total_macs += node_macs(g, n);
  double touched_macs = 0, full_macs = 0;

  int visit = 0;
  for (int idx : rep.visits) {
    ++visit;
    const auto tv = std::chrono::steady_clock::now();
    const Item& it = items[static_cast<size_t>(idx)];
    // What a change of this item touches: a layer's weights re-run the layer and what follows;
    // an activation's format rounds its kept value again and re-runs what follows.
    Change change;
    std::vector<size_t> reload;
    TuneStep step;
    change.values.assign(g.values.size(), false);
    if (it.node >= 0) {
      const Node& n = g.nodes[static_cast<size_t>(it.node)];
      change.nodes = nodes_downstream_of(g, n.outputs[0]);
      change.nodes[static_cast<size_t>(it.node)] = true;
      reload.push_back(static_cast<size_t>(it.node));
      step.kind = "weight";
      step.name = n.name;
    } else {
      const int v = it.value;
      change.nodes = nodes_downstream_of(g, v);
      change.values[static_cast<size_t>(v)] = true;
      for (size_t i = 0; i < g.nodes.size(); ++i)
        if ((g.nodes[i].op == OpType::Conv || g.nodes[i].op == OpType::Gemm) &&
            g.nodes[i].inputs[0] == v)
          reload.push_back(i);
      step.kind = "activation";
      step.name = g.values[v].name;
    }
    int64_t change_macs = 0;
    for (size_t i = 0; i < g.nodes.size(); ++i)
      if (change.nodes[i]) change_macs += node_macs(g, g.nodes[i]);
    const int cur = frac_of(it);
    step.before = cur;
    step.metric_before = current.metric(o);
    auto set_frac = [&](int f) {
      const int delta = f - frac_of(it);
      frac_of(it) = f;
      if (it.node >= 0)  // per-channel weights move together
        for (int& cf :
             plan.layers.at(g.nodes[static_cast<size_t>(it.node)].name).weight_channel_frac)
          cf += delta;
      update_fake_quant(g, plan, fq, reload);
      set.constants_changed(reload);
    };
    TuneScore best = current;
    int best_frac = cur, last = cur;
    for (int f = cur - o.k; f <= cur + o.k; ++f) {
      if (f == cur || std::abs(f) > 64) continue;
      set_frac(f);
      touched_macs += static_cast<double>(change_macs);
      full_macs += static_cast<double>(total_macs);
      TuneScore s;
      std::vector<int> key = o.memo ? state() : std::vector<int>{};
      if (auto hit = memo.find(key); o.memo && hit != memo.end()) {
        s = hit->second;
        set.skip(change);
        ++rep.memo_hits;
      } else {
        s = set.evaluate(change);
        ++rep.evaluations;
        if (o.memo) memo.emplace(std::move(key), s);
      }
      last = f;
      step.tried.emplace_back(f, s.metric(o));
      // A candidate must beat the current frac (significantly, with --bft-z); equal accuracy
      // never displaces it. Among candidates that do, the higher metric wins, then the higher
      // log-probability of the true class.
      if (!significantly_better(s, current, o)) continue;
      const double m = s.metric(o), mb = best.metric(o);
      if (best_frac == cur || m > mb || (m == mb && s.log_prob > best.log_prob)) {
        best = s;
        best_frac = f;
      }
    }
    set_frac(best_frac);
    if (best_frac != last) set.mark_stale(change);
    current = best;
    step.after = best_frac;
    step.metric_after = best.metric(o);
    step.seconds = seconds_since(tv);
    if (!o.quiet) {
      const double el = seconds_since(t0);
      const double eta =
          el / visit * static_cast<double>(rep.visits.size() - static_cast<size_t>(visit));
      std::fprintf(stderr, "tune %s: %d/%zu %s frac %d -> %d, metric %.4f (%.0f s, ETA %.0f s)\n",
                   rep.what.c_str(), visit, rep.visits.size(), step.name.c_str(), step.before,
                   step.after, step.metric_after, el, eta);
    }
    rep.trace.push_back(std::move(step));
  }
  if (full_macs > 0) rep.rerun_mac_fraction = touched_macs / full_macs;
  rep.end = current;
  rep.seconds = seconds_since(t0);
  return rep;
}

}  // namespace gammaq
