#include "api/loading.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "engine/fake_quant.h"
#include "gammaq/error.h"
#include "onnx/import.h"

namespace gammaq {

Graph load_model_graph(const std::string& path, PassReport* passes, const ImportOptions& options) {
  Graph g;
  try {
    g = import_onnx_file(path, options);
  } catch (const Error& e) {
    throw with_context(e, path);
  }
  const PassReport r = optimize(g);
  if (passes) *passes = r;
  return g;
}

std::string file_fingerprint(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) throw Error(ErrorKind::Io, path + ": cannot open");
  uint64_t h = 1469598103934665603ull;
  unsigned char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
    for (size_t i = 0; i < n; ++i) h = (h ^ buf[i]) * 1099511628211ull;
  std::fclose(f);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

Preprocess model_preprocess(const Graph& g) {
  Preprocess p;
  auto it = g.metadata.find("gammaq.preprocess");
  if (it != g.metadata.end()) {
    try {
      p = parse_preprocess_json(it->second);
    } catch (const Error& e) {
      throw with_context(e, g.name + ": metadata 'gammaq.preprocess'");
    }
  } else {
    const Shape& in = g.values[g.input].shape;
    p.channels = in[1] == 3 ? Channels::Rgb : Channels::Gray;
    p.height = in[2];
    p.width = in[3];
  }
  return p;
}

void check_data_fits(const Dataset& data, const Graph& g, std::string_view what, bool labelled) {
  if (data.size() < 1) throw Error(ErrorKind::InvalidData, str_cat(what, ": holds no images"));
  const Shape& want = g.values[g.input].shape;
  const Shape have = data.image_shape();
  if (have.size() + 1 != want.size() || !std::equal(have.begin(), have.end(), want.begin() + 1))
    throw Error(ErrorKind::InvalidData,
                str_cat(what, ": images of shape ", shape_str(have), " do not match input '",
                        g.values[g.input].name, "' of ", g.name, " (",
                        shape_str(Shape(want.begin() + 1, want.end())), ")"));
  if (labelled && !data.has_labels())
    throw Error(ErrorKind::InvalidData, str_cat(what, ": has no labels; accuracy needs labels"));
}

quant::QuantPlan read_plan_json(const std::string& quant_path) {
  std::ifstream f(quant_path);
  if (!f) throw Error(ErrorKind::Io, str_cat(quant_path, ": cannot open"));
  std::stringstream ss;
  ss << f.rdbuf();
  return quant::plan_from_json(ss.str(), quant_path);
}

quant::QuantPlan read_plan_file(const std::string& quant_path, const Graph& g,
                                const std::string& model_path, const std::string& model_fingerprint,
                                const ImportOptions& import) {
  quant::QuantPlan plan = read_plan_json(quant_path);
  check_plan_for(plan, quant_path, g, model_path, model_fingerprint, import);
  return plan;
}

void check_plan_for(const quant::QuantPlan& plan, const std::string& quant_path, const Graph& g,
                    const std::string& model_path, const std::string& model_fingerprint,
                    const ImportOptions& import) {
  if (!plan.model_sha256.empty() && plan.model_sha256 != model_fingerprint)
    throw Error(ErrorKind::InvalidData,
                str_cat(quant_path, ": made for another model file (model '", plan.model,
                        "', fingerprint ", plan.model_sha256, "), not ", model_path));
  auto join = [](const auto& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ",") + str_cat(x);
    return s.empty() ? std::string("none") : s;
  };
  if (plan.input_shape != import.input_shape || plan.outputs != import.outputs)
    throw Error(ErrorKind::InvalidOption,
                str_cat(quant_path, ": made with --input-shape ", join(plan.input_shape),
                        " --outputs ", join(plan.outputs),
                        ", the model here was imported with "
                        "--input-shape ",
                        join(import.input_shape), " --outputs ", join(import.outputs),
                        "; import it the same way"));
  try {
    (void)resolve_plan(g, plan);
  } catch (const Error& e) {
    throw with_context(e, quant_path);
  }
}

}  // namespace gammaq
