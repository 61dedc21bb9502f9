// parse_preprocess_json: the ONNX metadata_props value "gammaq.preprocess" (DESIGN.md),
//   {"scale": f, "mean": [f...], "std": [f...], "channels": "gray"|"rgb"|"bgr", "size": [h, w]}
// Every field is optional (missing ones keep Preprocess's defaults); unknown fields are
// rejected so that a misspelt key cannot silently change the numbers.
#include <algorithm>
#include <array>
#include <cmath>
#include <nlohmann/json.hpp>

#include "data/readers.h"
#include "gammaq/error.h"

namespace gammaq {
namespace {

using nlohmann::json;

constexpr std::string_view kWhere = "gammaq.preprocess";
constexpr std::array<std::string_view, 5> kFields = {"scale", "mean", "std", "channels", "size"};

[[noreturn]] void bad_field(std::string_view field, std::string_view rule) {
  throw Error(ErrorKind::InvalidModel, str_cat(kWhere, ": field '", field, "' ", rule));
}

std::vector<float> float_list(const json& v, std::string_view field, bool positive) {
  const std::string_view rule = positive ? "must be a non-empty array of positive numbers"
                                         : "must be a non-empty array of finite numbers";
  if (!v.is_array() || v.empty()) bad_field(field, rule);
  std::vector<float> out;
  for (const json& e : v) {
    if (!e.is_number()) bad_field(field, rule);
    const double d = e.get<double>();
    const auto f = static_cast<float>(d);
    if (!std::isfinite(d) || !std::isfinite(f) || (positive && !(f > 0))) bad_field(field, rule);
    out.push_back(f);
  }
  return out;
}

}  // namespace

Preprocess parse_preprocess_json(std::string_view text) {
  json doc;
  try {
    doc = json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    throw Error(ErrorKind::InvalidModel, str_cat(kWhere, ": not valid JSON: ", e.what()));
  }
  if (!doc.is_object()) {
    throw Error(ErrorKind::InvalidModel,
                str_cat(kWhere,
                        ": expected a JSON object such as {\"scale\": 0.00392156862745098,"
                        " \"mean\": [0.5], \"std\": [0.5], \"channels\": \"gray\"}"));
  }
  for (const auto& [key, value] : doc.items()) {
    if (std::find(kFields.begin(), kFields.end(), key) == kFields.end()) {
      bad_field(key, "is unknown: expected scale, mean, std, channels or size");
    }
  }
  Preprocess pre;
  if (doc.contains("scale")) {
    const json& v = doc["scale"];
    if (!v.is_number() || !std::isfinite(v.get<double>()) || !(v.get<double>() > 0)) {
      bad_field("scale", "must be a positive number");
    }
    pre.scale = v.get<double>();
  }
  if (doc.contains("mean")) pre.mean = float_list(doc["mean"], "mean", false);
  if (doc.contains("std")) pre.std = float_list(doc["std"], "std", true);
  if (doc.contains("channels")) {
    const json& v = doc["channels"];
    const std::string s = v.is_string() ? v.get<std::string>() : "";
    if (s == "gray") {
      pre.channels = Channels::Gray;
    } else if (s == "rgb") {
      pre.channels = Channels::Rgb;
    } else if (s == "bgr") {
      pre.channels = Channels::Bgr;
    } else {
      bad_field("channels", "must be \"gray\", \"rgb\" or \"bgr\"");
    }
  }
  if (doc.contains("size")) {
    const json& v = doc["size"];
    const std::string rule =
        str_cat("must be [height, width], integers in [1, ", data::kMaxImageSide, "]");
    if (!v.is_array() || v.size() != 2) bad_field("size", rule);
    std::array<int64_t, 2> hw{};
    for (size_t i = 0; i < 2; ++i) {
      const json& e = v[i];
      if (!e.is_number_integer()) bad_field("size", rule);
      const int64_t n = e.is_number_unsigned()
                            ? static_cast<int64_t>(std::min<uint64_t>(e.get<uint64_t>(), 1u << 30))
                            : e.get<int64_t>();
      if (n < 1 || n > data::kMaxImageSide) bad_field("size", rule);
      hw[i] = n;
    }
    pre.height = hw[0];
    pre.width = hw[1];
  }
  const size_t c = static_cast<size_t>(data::channel_count(pre.channels));
  for (const auto* list : {&pre.mean, &pre.std}) {
    if (list->size() != 1 && list->size() != c) {
      bad_field(list == &pre.mean ? "mean" : "std",
                str_cat("has ", list->size(), " values: expected 1 or ", c, " (one per channel)"));
    }
  }
  return pre;
}

}  // namespace gammaq
