#include "quant/plan.h"

#include <cmath>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>

#include "gammaq/error.h"

namespace gammaq::quant {

int64_t weight_code(float w, const Format& f, const LayerFormat& l, int64_t m,
                    Rounding rounding) noexcept {
  const int64_t u = quantize_code(w, f, rounding);
  if (l.weight_codebooks.empty()) return u;
  return l.weight_codebooks[l.weight_codebooks.size() == 1 ? 0 : static_cast<size_t>(m)].decode(u);
}
namespace {

using Json = nlohmann::ordered_json;

Json format_json(const Format& f) {
  Json j = {{"bits", f.bits}, {"frac", f.frac}, {"signed", f.is_signed}};
  if (f.table) {
    j["table"] = {{"thresholds", f.table->thresholds},
                  {"levels", f.table->levels},
                  {"zero_bin", f.table->zero_bin}};
  }
  return j;
}

// A threshold table (ALGORITHMS.md 9.3) on format f: thresholds strictly ascending, one more
// level than thresholds, levels ascending codes of f; with zero_bin, T_0 = V_0 = 0.
std::shared_ptr<const ThresholdTable> table_from(const Json& j, const Format& f,
                                                 const std::string& where) {
  auto t = std::make_shared<ThresholdTable>();
  t->thresholds = j.at("thresholds").get<std::vector<int32_t>>();
  t->levels = j.at("levels").get<std::vector<int32_t>>();
  t->zero_bin = j.value("zero_bin", false);
  bool ok = t->levels.size() == t->thresholds.size() + 1;
  for (size_t k = 1; ok && k < t->thresholds.size(); ++k)
    ok = t->thresholds[k - 1] < t->thresholds[k];
  for (size_t k = 0; ok && k < t->levels.size(); ++k)
    ok = t->levels[k] >= f.qmin() && t->levels[k] <= f.qmax() &&
         (k == 0 || t->levels[k - 1] <= t->levels[k]);
  if (ok && t->zero_bin) ok = !t->thresholds.empty() && t->thresholds[0] == 0 && t->levels[0] == 0;
  if (!ok)
    throw Error(ErrorKind::InvalidData,
                where +
                    ".table: expected strictly ascending thresholds, one more level, levels "
                    "ascending codes of the format (zero_bin: both first entries 0)");
  return t;
}

// JSON numbers cannot be inf/NaN: SQNR +inf (exact) and NaN (undefined) become null.
Json number_or_null(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }

// SQNR (6.1): a number; +inf (no error at all) as null with "sqnr_exact": true; NaN (not
// measured, or no signal) as null.
void put_sqnr(Json& o, double v) {
  o["sqnr_db"] = number_or_null(v);
  if (std::isinf(v) && v > 0) o["sqnr_exact"] = true;
}

double get_sqnr(const Json& o) {
  if (o.contains("sqnr_db") && o.at("sqnr_db").is_number()) return o.at("sqnr_db").get<double>();
  if (o.value("sqnr_exact", false)) return std::numeric_limits<double>::infinity();
  return std::numeric_limits<double>::quiet_NaN();
}

Format format_from(const Json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("bits") || !j.contains("frac") || !j.contains("signed"))
    throw Error(ErrorKind::InvalidData,
                where + ": expected {\"bits\": int, \"frac\": int, \"signed\": bool}");
  try {
    Format f =
        make_format(j.at("bits").get<int>(), j.at("frac").get<int>(), j.at("signed").get<bool>());
    if (j.contains("table")) f.table = table_from(j.at("table"), f, where);
    return f;
  } catch (const Error& e) {
    throw with_context(e, where);
  } catch (const Json::exception& e) {
    throw Error(ErrorKind::InvalidData, where + ": " + e.what());
  }
}

}  // namespace

std::string plan_to_json(const QuantPlan& p) {
  Json j;
  j["gammaq_quant"] = 1;
  j["model"] = p.model;
  j["model_sha256"] = p.model_sha256;
  j["rounding"] = std::string(rounding_name(p.rounding));
  j["wbits"] = p.wbits;
  j["abits"] = p.abits;
  j["bbits"] = p.bbits;
  j["method"] = p.method;
  j["mode"] = p.mode;
  j["granularity"] = p.granularity;
  j["float_activations"] = p.float_activations;
  j["calib_weights"] = p.calib_weights;
  if (!p.input_shape.empty() || !p.outputs.empty()) {
    Json& im = j["import"] = Json::object();
    if (!p.input_shape.empty()) im["input_shape"] = p.input_shape;
    if (!p.outputs.empty()) im["outputs"] = p.outputs;
  }
  Json& layers = j["layers"] = Json::object();
  for (const auto& [name, l] : p.layers) {
    Json& o = layers[name];
    o["weight"] = format_json(l.weight);
    if (!l.weight_channel_frac.empty()) o["weight"]["channel_frac"] = l.weight_channel_frac;
    if (!l.weight_codebooks.empty()) {
      Json& cbs = o["weight"]["codebooks"] = Json::array();
      for (const Codebook& cb : l.weight_codebooks)
        cbs.push_back({{"levels", cb.levels}, {"bounds", cb.bounds}});
    }
    put_sqnr(o["weight"], l.weight_sqnr_db);
    if (l.bias_at_accumulator) {
      o["bias"] = {{"accumulator", true}};
    } else {
      o["bias"] = format_json(l.bias);
      put_sqnr(o["bias"], l.bias_sqnr_db);
    }
    if (!l.bias_correction.empty()) o["bias"]["correction"] = l.bias_correction;
  }
  Json& acts = j["activations"] = Json::object();
  for (const auto& [name, a] : p.activations) {
    Json o = format_json(a.format);
    o["method"] = a.method;
    if (a.degenerate) o["degenerate"] = true;
    if (!a.note.empty()) o["note"] = a.note;
    if (!a.fit.empty()) o["fit"] = a.fit;
    if (!a.candidates.empty()) {
      Json& c = o["candidates"] = Json::array();
      for (const auto& [frac, err] : a.candidates)
        c.push_back({{"frac", frac}, {"error", number_or_null(err)}});
    }
    put_sqnr(o, a.sqnr_db);
    acts[name] = o;
  }
  return j.dump(1) + "\n";
}

QuantPlan plan_from_json(const std::string& text, const std::string& where) {
  Json j;
  try {
    j = Json::parse(text);
  } catch (const Json::exception& e) {
    throw Error(ErrorKind::InvalidData, where + ": not valid JSON (" + e.what() + ")");
  }
  if (!j.is_object() || j.value("gammaq_quant", 0) != 1)
    throw Error(ErrorKind::InvalidData, where + ": not a gammaq quant.json (version 1)");
  QuantPlan p;
  try {
    p.model = j.at("model").get<std::string>();
    p.model_sha256 = j.value("model_sha256", "");
    p.rounding = parse_rounding(j.at("rounding").get<std::string>());
    p.wbits = j.at("wbits").get<int>();
    p.abits = j.at("abits").get<int>();
    p.bbits = j.value("bbits", "acc");
    p.method = j.value("method", "");
    p.mode = j.value("mode", "");
    p.granularity = j.value("granularity", "layer");
    p.float_activations = j.value("float_activations", false);
    p.calib_weights = j.value("calib_weights", "quantized");
    if (j.contains("import")) {
      const Json& im = j.at("import");
      p.input_shape = im.value("input_shape", std::vector<int64_t>{});
      p.outputs = im.value("outputs", std::vector<std::string>{});
    }
    for (const auto& [name, o] : j.at("layers").items()) {
      LayerFormat l;
      const std::string at = where + ": layers." + name;
      l.weight = format_from(o.at("weight"), at + ".weight");
      if (o.at("weight").contains("channel_frac"))
        l.weight_channel_frac = o.at("weight").at("channel_frac").get<std::vector<int>>();
      if (o.at("weight").contains("codebooks")) {
        const std::string cat = at + ".weight.codebooks";
        for (const Json& c : o.at("weight").at("codebooks")) {
          Codebook cb;
          cb.levels = c.at("levels").get<std::vector<int32_t>>();
          cb.bounds = c.at("bounds").get<std::vector<int32_t>>();
          bool ok = !cb.levels.empty() && cb.bounds.size() + 1 == cb.levels.size();
          for (size_t k = 0; ok && k < cb.levels.size(); ++k)
            ok = cb.levels[k] >= l.weight.qmin() && cb.levels[k] <= l.weight.qmax() &&
                 (k == 0 || cb.levels[k - 1] < cb.levels[k]);
          for (size_t k = 1; ok && k < cb.bounds.size(); ++k) ok = cb.bounds[k - 1] < cb.bounds[k];
          if (!ok)
            throw Error(ErrorKind::InvalidData,
                        str_cat(cat, ": levels must be ascending codes of the ", l.weight.bits,
                                "-bit grid and bounds one fewer, ascending"));
          l.weight_codebooks.push_back(std::move(cb));
        }
        if (l.weight_codebooks.empty())
          throw Error(ErrorKind::InvalidData, str_cat(cat, ": empty"));
      }
      const Json& b = o.at("bias");
      l.bias_at_accumulator = b.value("accumulator", false);
      if (!l.bias_at_accumulator) l.bias = format_from(b, at + ".bias");
      if (b.contains("correction")) {
        l.bias_correction = b.at("correction").get<std::vector<double>>();
        for (double d : l.bias_correction)
          if (!std::isfinite(d))
            throw Error(ErrorKind::InvalidData, str_cat(at, ".bias.correction: not finite"));
      }
      p.layers[name] = l;
    }
    for (const auto& [name, o] : j.at("activations").items()) {
      ActivationFormat a;
      a.format = format_from(o, where + ": activations." + name);
      a.method = o.value("method", "");
      a.degenerate = o.value("degenerate", false);
      a.note = o.value("note", "");
      a.sqnr_db = get_sqnr(o);
      p.activations[name] = a;
    }
  } catch (const Json::exception& e) {
    throw Error(ErrorKind::InvalidData, where + ": " + e.what());
  }
  return p;
}

}  // namespace gammaq::quant
