#include "pipeline/sensitivity.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>

#include "core/progress.h"
#include "engine/fake_quant.h"
#include "gammaq/error.h"
#include "pipeline/tuning_set.h"

namespace gammaq {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double top1_of(const TuneScore& s) {
  return s.images ? static_cast<double>(s.top1) / static_cast<double>(s.images) : 0.0;
}

// Float numerics in the simulation's form: no activation rounded, no constant replaced.
FakeQuant float_numerics(const Graph& g, quant::Rounding rounding) {
  FakeQuant fq;
  fq.rounding = rounding;
  fq.value_format.assign(g.values.size(), std::nullopt);
  fq.constant.assign(g.values.size(), Tensor());
  return fq;
}

// Losses are differences of accuracies in points (100 * (a - b)): a loss equal to the target
// can come out a few ulps above it, and still meets it.
bool within(double loss, double target) { return loss <= target + 1e-9; }

// Sum of the isolated losses (>= 0) of the ranked tensors from `keep` on.
double predicted_loss(const std::vector<TensorSensitivity>& ranked, size_t keep) {
  double sum = 0;
  for (size_t i = keep; i < ranked.size(); ++i) sum += std::max(0.0, ranked[i].loss_points);
  return sum;
}

}  // namespace

SensitivityReport sensitivity(const Graph& g, Dataset& calib, Dataset& val,
                              const SensitivityOptions& o) {
  for (auto [name, b] : {std::pair{"--bits", o.bits}, std::pair{"--keep-bits", o.keep_bits}})
    if (b < quant::kMinBits || b > quant::kMaxBits)
      throw Error(ErrorKind::InvalidOption, str_cat(name, " ", b, ": must be in 2..16"));
  if (!(o.max_loss >= 0))
    throw Error(ErrorKind::InvalidOption, "--max-loss: must be a number >= 0");
  SensitivityReport r;
  r.bits = o.bits;
  r.keep_bits = o.keep_bits;
  const auto t0 = std::chrono::steady_clock::now();

  // Formats at B bits, from the float network's statistics (everything else stays float).
  QuantizeOptions q = o.quant;
  q.wbits = q.abits = o.bits;
  q.calib_float_weights = true;
  q.tune = "none";
  r.plan = quantize_model(g, calib, q).plan;
  const FakeQuant full = resolve_plan(g, r.plan);
  quant::QuantPlan weights_only = r.plan;
  weights_only.float_activations = true;
  const FakeQuant wq = resolve_plan(g, weights_only);  // weights rounded alone, float inputs

  // The working numerics: float, with one tensor rounded at a time.
  FakeQuant fq = float_numerics(g, r.plan.rounding);
  TuneReport cache;
  TuningSet set(g, val, o.eval, fq, cache);
  r.cached = cache.cached;
  r.cache_note = cache.cache_note;
  const TuneScore base = set.evaluate(Change{});
  set.keep_reference();
  r.images = base.images;
  r.float_top1 = top1_of(base);

  int64_t total_macs = 0;
  for (const Node& n : g.nodes) total_macs += node_macs(g, n);
  double rerun_macs = 0;
  auto macs_of = [&](const Change& c) {
    int64_t m = 0;
    for (size_t i = 0; i < g.nodes.size(); ++i)
      if (c.nodes[i]) m += node_macs(g, g.nodes[i]);
    return total_macs ? static_cast<double>(m) / static_cast<double>(total_macs) : 1.0;
  };
  auto score = [&](TensorSensitivity t, const Change& c) {
    const TuneScore s = set.evaluate(c);
    ++r.evaluations;
    t.top1 = top1_of(s);
    t.loss_points = 100.0 * (r.float_top1 - t.top1);
    t.sqnr_db = s.output_sqnr_db();
    t.rerun_mac_fraction = macs_of(c);
    rerun_macs += t.rerun_mac_fraction;
    r.ranked.push_back(t);
    set.mark_stale(c);  // the next candidate's run restores these nodes to float
  };
  std::vector<int> outputs{g.input};
  for (const Node& n : g.nodes) outputs.push_back(n.outputs[0]);
  int64_t done = 0;
  Progress bar("sensitivity",
               static_cast<int64_t>(r.plan.layers.size() + r.plan.activations.size()), o.eval.quiet,
               "candidates");
  auto progress = [&] { bar.update(++done, r.ranked.back().name); };
  for (size_t i = 0; i < g.nodes.size(); ++i) {  // each layer's weights
    const Node& n = g.nodes[i];
    if (!r.plan.layers.count(n.name)) continue;
    Change c;
    c.nodes = nodes_downstream_of(g, n.outputs[0]);
    c.nodes[i] = true;
    c.values.assign(g.values.size(), false);
    for (size_t k = 1; k < n.inputs.size(); ++k)
      fq.constant[static_cast<size_t>(n.inputs[k])] = wq.constant[static_cast<size_t>(n.inputs[k])];
    set.constants_changed({i});
    score({n.name, "weight"}, c);
    for (size_t k = 1; k < n.inputs.size(); ++k) fq.constant[static_cast<size_t>(n.inputs[k])] = {};
    set.constants_changed({i});
    progress();
  }
  for (int v : outputs) {  // each feature map
    const auto& fmt = full.value_format[static_cast<size_t>(v)];
    if (!fmt) continue;
    Change c;
    c.nodes = nodes_downstream_of(g, v);
    c.values.assign(g.values.size(), false);
    if (v == g.input)
      c.input = true;
    else
      c.nodes[static_cast<size_t>(g.values[static_cast<size_t>(v)].producer)] = true;
    fq.value_format[static_cast<size_t>(v)] = fmt;
    score({g.values[static_cast<size_t>(v)].name, "output"}, c);
    fq.value_format[static_cast<size_t>(v)].reset();
    progress();
  }
  bar.finish();
  r.rerun_mac_fraction = r.ranked.empty() ? 1.0 : rerun_macs / static_cast<double>(r.ranked.size());
  std::stable_sort(r.ranked.begin(), r.ranked.end(),
                   [](const TensorSensitivity& a, const TensorSensitivity& b) {
                     if (a.top1 != b.top1) return a.top1 < b.top1;
                     return a.sqnr_db < b.sqnr_db;
                   });
  r.seconds_rank = seconds_since(t0);

  // Whole plans from here on: every node re-runs.
  Change all;
  all.nodes.assign(g.nodes.size(), true);
  all.values.assign(g.values.size(), false);
  all.input = true;
  std::vector<size_t> layer_nodes;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (r.plan.layers.count(g.nodes[i].name)) layer_nodes.push_back(i);
  auto run_plan = [&](const quant::QuantPlan& p) {
    fq = resolve_plan(g, p);
    set.constants_changed(layer_nodes);
    ++r.evaluations;
    return set.evaluate(all);
  };
  const auto t1 = std::chrono::steady_clock::now();
  r.all_top1 = top1_of(run_plan(r.plan));

  // The suggestion, checked by running it: start where the prediction says, then search on
  // measured losses -- keep more while the loss is over the target, and fewer (bisecting
  // towards the largest count known to fail; 0 kept is the all-B-bit plan) once it is within.
  const size_t n = r.ranked.size();
  const double all_loss = 100.0 * (r.float_top1 - r.all_top1);
  size_t fail = 0;  // a count measured (or known) over the target
  std::optional<size_t> pass;
  quant::QuantPlan best;
  size_t keep = 0;
  while (keep < n && !within(predicted_loss(r.ranked, keep), o.max_loss)) ++keep;
  if (within(all_loss, o.max_loss)) {  // nothing to keep
    pass = 0;
    best = r.plan;
    r.attempts.push_back({0, predicted_loss(r.ranked, 0), all_loss});
  }
  keep = std::max<size_t>(keep, 1);
  for (int attempt = 0; !pass.has_value() || *pass > 0; ++attempt) {
    if (attempt >= std::max(1, o.max_attempts) || keep > n) break;
    QuantizeOptions k = q;
    for (size_t i = 0; i < keep; ++i) {
      const TensorSensitivity& t = r.ranked[i];
      (t.tensor == "weight" ? k.weight_bits_override : k.activation_bits_override)[t.name] =
          o.keep_bits;
    }
    quant::QuantPlan plan = quantize_model(g, calib, k).plan;
    SensitivityAttempt a;
    a.keep = keep;
    a.predicted_loss = predicted_loss(r.ranked, keep);
    a.measured_loss = 100.0 * (r.float_top1 - top1_of(run_plan(plan)));
    r.attempts.push_back(a);
    if (!o.eval.quiet)
      std::fprintf(stderr,
                   "sensitivity: keeping %zu tensors at %d bits: loss %.2f points (predicted "
                   "%.2f)\n",
                   keep, o.keep_bits, a.measured_loss, a.predicted_loss);
    if (within(a.measured_loss, o.max_loss)) {
      pass = keep;
      best = std::move(plan);
    } else {
      fail = std::max(fail, keep);
      if (!pass && keep == n) {  // nothing left to keep: report the widest plan
        best = std::move(plan);
        break;
      }
    }
    if (!pass)
      keep = std::min(n, std::max(keep + 1, keep + (keep + 1) / 2));
    else if (*pass - fail <= 1)
      break;
    else
      keep = fail + (*pass - fail) / 2;
  }
  const SensitivityAttempt* chosen = &r.attempts.back();
  for (const SensitivityAttempt& a : r.attempts)
    if (pass && a.keep == *pass) chosen = &a;
  r.keep = chosen->keep;
  r.predicted_loss = chosen->predicted_loss;
  r.measured_loss = chosen->measured_loss;
  r.met = within(r.measured_loss, o.max_loss);
  r.suggested = best;
  if (o.test) {
    TuneOptions to = o.eval;
    to.limit = -1;
    const FakeQuant ffq = float_numerics(g, r.plan.rounding);
    TuneReport unused;
    to.cache = false;
    TuningSet test_float(g, *o.test, to, ffq, unused);
    const double ft = top1_of(test_float.evaluate(Change{}));
    const FakeQuant sq = resolve_plan(g, r.suggested);
    TuningSet test_q(g, *o.test, to, sq, unused);
    r.test_loss = 100.0 * (ft - top1_of(test_q.evaluate(Change{})));
  }
  r.seconds_suggest = seconds_since(t1);
  return r;
}

}  // namespace gammaq
