#include "pipeline/summary.h"

#include <cmath>
#include <nlohmann/json.hpp>

namespace gammaq {
namespace {

using Json = nlohmann::ordered_json;

Json number_or_null(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }

Json accuracy_json(const Accuracy& a) {
  return {{"top1", a.top1()}, {"top5", a.top5()}, {"images", a.images}, {"tied_top1", a.tied_top1}};
}

}  // namespace

Json agreement_json(const Agreement& a) {
  Json j;
  j["images"] = a.images;
  Json& outs = j["outputs"] = Json::array();
  for (const OutputAgreement& o : a.outputs) {
    Json e;
    e["name"] = o.name;
    e["shape"] = o.shape;
    e["sqnr_db"] = number_or_null(o.sqnr_db());
    if (o.classifier()) e["top1_agreement"] = o.top1_agreement();
    if (o.map()) e["miou"] = o.miou();
    outs.push_back(std::move(e));
  }
  return j;
}

WeightStorage weight_storage(const Graph& g, const quant::QuantPlan& plan) {
  WeightStorage s;
  double eq = 0, stored = 0, entropy = 0;
  for (const Node& n : g.nodes) {
    auto it = plan.layers.find(n.name);
    if (it == plan.layers.end()) continue;
    const quant::LayerFormat& l = it->second;
    const Tensor& w = g.values[n.inputs[1]].data;
    const auto count = static_cast<int64_t>(w.data.size());
    const int bits = l.weight.bits;
    s.weights += count;
    s.float_bytes += 4 * count;
    s.uniform_bytes += (count * bits + 7) / 8;
    if (l.weight_codebooks.empty()) {
      s.bytes += (count * bits + 7) / 8;
      eq += static_cast<double>(count * bits);
      stored += static_cast<double>(count * bits);
      entropy += static_cast<double>(count * bits);
      continue;
    }
    std::vector<quant::Format> grids(l.weight_codebooks.size(), l.weight);
    for (size_t c = 0; c < grids.size() && c < l.weight_channel_frac.size(); ++c)
      grids[c].frac = l.weight_channel_frac[c];
    const quant::NuuqSize z = quant::nuuq_size(w.data, l.weight_codebooks, grids, plan.rounding);
    s.bytes += z.bytes;
    eq += z.bits_eq * static_cast<double>(count);
    stored += z.bits_stored * static_cast<double>(count);
    entropy += z.bits_entropy * static_cast<double>(count);
    s.layers[n.name] = z;
  }
  if (s.weights > 0) {
    s.bits_eq = eq / static_cast<double>(s.weights);
    s.bits_stored = stored / static_cast<double>(s.weights);
    s.bits_entropy = entropy / static_cast<double>(s.weights);
  }
  return s;
}

std::string summary_json(const Graph& g, const QuantizeReport& r, const Accuracy& float_acc,
                         const Accuracy& quant_acc, double seconds_evaluate,
                         const std::string& tune, const std::string& command,
                         const Agreement* agreement) {
  const quant::QuantPlan& p = r.plan;
  Json j;
  j["model"] = p.model;
  j["model_sha256"] = p.model_sha256;
  if (!command.empty()) j["command"] = command;
  j["method"] = p.method;
  j["mode"] = p.mode;
  j["wbits"] = p.wbits;
  j["abits"] = p.abits;
  j["bbits"] = p.bbits;
  j["granularity"] = p.granularity;
  j["rounding"] = std::string(quant::rounding_name(p.rounding));
  j["float_activations"] = p.float_activations;
  j["tune"] = tune;
  j["calibration_images"] = r.calibration_images;
  if (quant_acc.images > 0 || !agreement) {
    j["float"] = accuracy_json(float_acc);
    j["quantized"] = accuracy_json(quant_acc);
  }
  if (agreement) j["agreement"] = agreement_json(*agreement);
  const WeightStorage storage = weight_storage(g, p);
  j["weight_storage"] = {{"weights", storage.weights},
                         {"float_bytes", storage.float_bytes},
                         {"uniform_bytes", storage.uniform_bytes},
                         {"bytes", storage.bytes},
                         {"bits_eq", storage.bits_eq},
                         {"bits_stored", storage.bits_stored},
                         {"bits_entropy", storage.bits_entropy}};
  Json& layers = j["layers"] = Json::array();
  auto input_it = p.activations.find(g.values[g.input].name);
  if (input_it != p.activations.end()) {
    const auto& a = input_it->second;
    layers.push_back({{"name", g.values[g.input].name},
                      {"op", "Input"},
                      {"output",
                       {{"bits", a.format.bits},
                        {"frac", a.format.frac},
                        {"signed", a.format.is_signed},
                        {"sqnr_db", number_or_null(a.sqnr_db)}}}});
  }
  for (const Node& n : g.nodes) {
    Json l;
    l["name"] = n.name;
    l["op"] = op_name(n.op);
    if (auto it = p.layers.find(n.name); it != p.layers.end()) {
      const quant::LayerFormat& lf = it->second;
      l["weight"] = {{"bits", lf.weight.bits},
                     {"frac", lf.weight.frac},
                     {"sqnr_db", number_or_null(lf.weight_sqnr_db)}};
      if (!lf.weight_channel_frac.empty()) l["weight"]["channel_frac"] = lf.weight_channel_frac;
      if (auto z = storage.layers.find(n.name); z != storage.layers.end())
        l["weight"]["nuuq"] = {{"levels", z->second.levels},
                               {"bits_eq", z->second.bits_eq},
                               {"bits_stored", z->second.bits_stored},
                               {"bits_entropy", z->second.bits_entropy},
                               {"codebook_bits", z->second.codebook_bits},
                               {"bytes", z->second.bytes}};
      if (lf.bias_at_accumulator)
        l["bias"] = {{"bits", 32}, {"accumulator", true}};
      else
        l["bias"] = {{"bits", lf.bias.bits},
                     {"frac", lf.bias.frac},
                     {"sqnr_db", number_or_null(lf.bias_sqnr_db)}};
    }
    const std::string& out = g.values[n.outputs[0]].name;
    if (auto it = p.activations.find(out); it != p.activations.end()) {
      const quant::ActivationFormat& a = it->second;
      Json o = {{"name", out},
                {"bits", a.format.bits},
                {"frac", a.format.frac},
                {"signed", a.format.is_signed},
                {"sqnr_db", number_or_null(a.sqnr_db)}};
      if (a.fit.count("alpha"))
        o["fit"] = {{"alpha", a.fit.at("alpha")},
                    {"beta", a.fit.at("beta")},
                    {"lambda", a.fit.at("lambda")},
                    {"mu", a.fit.at("mu")}};
      if (a.degenerate) o["degenerate"] = true;
      if (!a.note.empty()) o["note"] = a.note;
      l["output"] = o;
    }
    layers.push_back(l);
  }
  j["warnings"] = r.warnings;
  auto& tuning = j["tuning"] = nlohmann::ordered_json::array();
  for (const TuneReport& t : r.tuning) {
    nlohmann::ordered_json tj;
    tj["what"] = t.what;
    tj["validation_images"] = t.start.images;
    tj["top1_before"] = t.start.images ? double(t.start.top1) / double(t.start.images) : 0.0;
    tj["top1_after"] = t.end.images ? double(t.end.top1) / double(t.end.images) : 0.0;
    tj["top5_before"] = t.start.images ? double(t.start.top5) / double(t.start.images) : 0.0;
    tj["top5_after"] = t.end.images ? double(t.end.top5) / double(t.end.images) : 0.0;
    tj["evaluations"] = t.evaluations;
    tj["memo_hits"] = t.memo_hits;
    tj["rerun_mac_fraction"] = t.rerun_mac_fraction;
    tj["seconds"] = t.seconds;
    tj["cached"] = t.cached;
    tj["cache_mib"] = t.cache_mib;
    if (!t.cache_note.empty()) tj["cache_note"] = t.cache_note;
    auto& steps = tj["trace"] = nlohmann::ordered_json::array();
    for (const TuneStep& st : t.trace) {
      nlohmann::ordered_json sj;
      sj["kind"] = st.kind;
      sj["name"] = st.name;
      sj["frac_before"] = st.before;
      sj["frac_after"] = st.after;
      sj["metric_before"] = st.metric_before;
      sj["metric_after"] = st.metric_after;
      sj["seconds"] = st.seconds;
      auto& tried = sj["tried"] = nlohmann::ordered_json::array();
      for (const auto& [f, m] : st.tried) tried.push_back({{"frac", f}, {"metric", m}});
      steps.push_back(sj);
    }
    tuning.push_back(tj);
  }
  j["seconds"] = {{"calibrate", r.seconds_calibrate},
                  {"choose", r.seconds_choose},
                  {"tune", r.seconds_tune},
                  {"evaluate", seconds_evaluate}};
  return j.dump(1) + "\n";
}

}  // namespace gammaq
