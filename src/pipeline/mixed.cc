#include "pipeline/mixed.h"

#include <algorithm>
#include <cmath>

#include "gammaq/error.h"
#include "ops/op.h"

namespace gammaq {
namespace {

QuantizeOptions at_low_width(const QuantizeOptions& base, const MixedOptions& m) {
  QuantizeOptions o = base;
  o.tune = "none";
  if (m.joint) {
    o.wbits = o.abits = m.low;
    o.float_activations = false;
  } else if (m.weights) {
    o.wbits = m.low;
    o.float_activations = true;
  } else {
    o.wbits = m.high;
    o.abits = m.low;
    o.float_activations = false;
  }
  return o;
}

}  // namespace

std::vector<Sensitivity> rank_by_sqnr(const Graph& g, Dataset& calib, const QuantizeOptions& base,
                                      const MixedOptions& m) {
  for (int b : {m.low, m.high})
    if (b < 2 || b > 16)
      throw Error(ErrorKind::InvalidOption, str_cat("width ", b, ": must be in 2..16"));
  if (m.low >= m.high)
    throw Error(ErrorKind::InvalidOption,
                str_cat("--low ", m.low, " must be below --high ", m.high));
  const QuantizeReport rep = quantize_model(g, calib, at_low_width(base, m));
  // Critical (6.4): the first layer reading the graph input, and the last layer.
  int first = -1, last = -1;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (ops::is_layer(g.nodes[i])) {
      if (first < 0 && g.nodes[i].inputs[0] == g.input) first = static_cast<int>(i);
      last = static_cast<int>(i);
    }
  std::vector<Sensitivity> out;
  const bool want_w = m.weights || m.joint, want_a = !m.weights || m.joint;
  if (want_a) {  // the input image is a feature map too
    const Value& in = g.values[g.input];
    auto it = rep.plan.activations.find(in.name);
    if (it != rep.plan.activations.end())
      out.push_back(
          {in.name, it->second.sqnr_db, static_cast<double>(shape_numel(in.shape)), false, false});
  }
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    const bool critical = static_cast<int>(i) == first || static_cast<int>(i) == last;
    if (want_w && ops::is_layer(n))
      out.push_back({n.name, rep.plan.layers.at(n.name).weight_sqnr_db,
                     static_cast<double>(g.values[n.inputs[1]].data.numel()), critical, true});
    if (want_a) {
      const Value& v = g.values[n.outputs[0]];
      auto it = rep.plan.activations.find(v.name);
      if (it == rep.plan.activations.end()) continue;
      out.push_back({v.name, it->second.sqnr_db, static_cast<double>(shape_numel(v.shape)),
                     critical && ops::is_layer(n), false});
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const Sensitivity& a, const Sensitivity& b) {
    if (std::isnan(a.sqnr_db) || std::isnan(b.sqnr_db))
      return !std::isnan(a.sqnr_db) && std::isnan(b.sqnr_db);
    return a.sqnr_db < b.sqnr_db;
  });
  return out;
}

QuantizeOptions promote(const QuantizeOptions& base, const MixedOptions& m,
                        const std::vector<Sensitivity>& ranked, size_t promoted) {
  QuantizeOptions o = at_low_width(base, m);
  for (size_t i = 0; i < ranked.size(); ++i) {
    if (i >= promoted && !(m.keep_critical && ranked[i].critical)) continue;
    (ranked[i].is_weight ? o.weight_bits_override : o.activation_bits_override)[ranked[i].name] =
        m.high;
  }
  return o;
}

size_t promoted_by_threshold(const std::vector<Sensitivity>& ranked, double tau) {
  size_t k = 0;
  while (k < ranked.size() && ranked[k].sqnr_db < tau) ++k;  // NaN compares false: kept low
  return k;
}

double average_bits(const std::vector<Sensitivity>& ranked, const MixedOptions& m,
                    size_t promoted) {
  double bits = 0, size = 0;
  for (size_t i = 0; i < ranked.size(); ++i) {
    const bool high = i < promoted || (m.keep_critical && ranked[i].critical);
    bits += ranked[i].size * (high ? m.high : m.low);
    size += ranked[i].size;
  }
  return size > 0 ? bits / size : 0.0;
}

}  // namespace gammaq
