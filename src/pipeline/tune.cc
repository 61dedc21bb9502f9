#include "pipeline/tune.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>

#include "core/progress.h"
#include "engine/fake_quant.h"
#include "gammaq/error.h"
#include "gammaq/evaluate.h"
#include "gammaq/executor.h"
#include "kernels/fast/fast.h"
#include "ops/op.h"
#include "pipeline/chunked_pass.h"
#include "pipeline/tuning_set.h"

namespace gammaq {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

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
      if (ops::is_layer(g.nodes[i]) && plan.layers.at(g.nodes[i].name).weight_codebooks.empty())
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
  Progress progress("tune " + rep.what, static_cast<int64_t>(rep.visits.size()), o.quiet, "steps");
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
        if (ops::is_layer(g.nodes[i]) && g.nodes[i].inputs[0] == v) reload.push_back(i);
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
    progress.update(visit, str_cat(step.name, " frac ", step.before, " -> ", step.after,
                                   ", metric ", step.metric_after));
    rep.trace.push_back(std::move(step));
  }
  if (full_macs > 0) rep.rerun_mac_fraction = touched_macs / full_macs;
  rep.end = current;
  rep.seconds = seconds_since(t0);
  return rep;
}

}  // namespace gammaq
