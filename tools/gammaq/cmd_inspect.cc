// gammaq inspect MODEL.onnx [--json] | --ops
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "common.h"
#include "gammaq/error.h"

namespace gammaq::cli {
namespace {

struct InspectArgs {
  std::string model;
  ImportFlags imp;
  bool json = false;
  bool ops = false;
} args;

std::string_view activation_name(Activation a) {
  switch (a) {
    case Activation::None: return "";
    case Activation::Relu: return "Relu";
    case Activation::Clip: return "Clip";
    case Activation::LeakyRelu: return "LeakyRelu";
    case Activation::Sigmoid: return "Sigmoid";
  }
  return "";
}

int64_t node_params(const Graph& g, const Node& n) {
  int64_t p = 0;
  for (int id : n.inputs)
    if (g.values[id].is_constant) p += shape_numel(g.values[id].shape);
  return p;
}

int run_inspect() {
  if (args.ops) {
    std::printf("Supported ONNX operators (default domain, opsets 7-21):\n");
    for (int i = 0;; ++i) {
      const auto name = op_name(static_cast<OpType>(i));
      std::printf("  %.*s\n", static_cast<int>(name.size()), name.data());
      if (static_cast<OpType>(i) == OpType::Constant) break;
    }
    std::printf(
        "Shape arithmetic, folded to constants once the input shape is fixed: Shape, Size, "
        "Gather,\n"
        "  Unsqueeze, Squeeze, Concat, Cast, Slice, ConstantOfShape, Range, Add, Sub, Mul, Div, "
        "Pow,\n"
        "  Mod, Min, Max, Sum, Equal, Less, Greater, Where, Neg, Abs, Floor, Ceil, Sqrt,\n"
        "  Reciprocal, Identity, Reshape, Flatten, Expand, Transpose\n");
    return 0;
  }
  if (args.model.empty())
    throw Error(ErrorKind::InvalidOption, "inspect: MODEL is required (or --ops)");
  const LoadedModel m = load_model(args.model, args.imp.options());
  const Graph& g = m.graph;
  int64_t macs = 0;
  for (const Node& n : g.nodes) macs += node_macs(g, n);
  const int64_t params = graph_parameter_count(g);
  if (args.json) {
    nlohmann::ordered_json j;
    j["model"] = g.name;
    j["opset"] = g.opset;
    j["input"] = {{"name", g.values[g.input].name}, {"shape", g.values[g.input].shape}};
    if (g.nhwc_input) j["input"]["file_layout"] = "NHWC";
    j["output"] = {{"name", g.values[g.output].name}, {"shape", g.values[g.output].shape}};
    auto& outs = j["outputs"] = nlohmann::ordered_json::array();
    for (int v : graph_outputs(g))
      outs.push_back({{"name", g.values[v].name}, {"shape", g.values[v].shape}});
    j["params"] = params;
    j["macs"] = macs;
    j["passes"] = {{"removed_identities", m.passes.removed_identities},
                   {"folded_batchnorms", m.passes.folded_batchnorms},
                   {"fused_activations", m.passes.fused_activations},
                   {"folded_pads", m.passes.folded_pads},
                   {"folded_affines", m.passes.folded_affines},
                   {"fused_swishes", m.passes.fused_swishes}};
    auto& layers = j["layers"] = nlohmann::ordered_json::array();
    for (const Node& n : g.nodes) {
      nlohmann::ordered_json l;
      l["name"] = n.name;
      l["op"] = op_name(n.op);
      l["activation"] = activation_name(n.attrs.activation);
      std::vector<std::string> ins;
      for (int id : n.inputs)
        if (!g.values[id].is_constant) ins.push_back(g.values[id].name);
      l["inputs"] = ins;
      l["output"] = g.values[n.outputs[0]].name;
      l["output_shape"] = g.values[n.outputs[0]].shape;
      l["params"] = node_params(g, n);
      l["macs"] = node_macs(g, n);
      layers.push_back(l);
    }
    auto it = g.metadata.find("gammaq.preprocess");
    if (it != g.metadata.end()) j["preprocess"] = nlohmann::json::parse(it->second, nullptr, false);
    std::cout << j.dump(1) << "\n";
    return 0;
  }
  std::printf("model   %s (opset %lld)\n", g.name.c_str(), static_cast<long long>(g.opset));
  std::printf(
      "input   %s  %s%s\n", g.values[g.input].name.c_str(),
      shape_str(g.values[g.input].shape).c_str(),
      g.nhwc_input ? "  (NCHW; the file's input is NHWC, transposed by its first node)" : "");
  for (int v : graph_outputs(g))
    std::printf("output  %s  %s\n", g.values[v].name.c_str(), shape_str(g.values[v].shape).c_str());
  std::printf("passes  %d identities removed, %d batch norms folded, %d activations fused\n\n",
              m.passes.removed_identities, m.passes.folded_batchnorms, m.passes.fused_activations);
  std::printf("%-4s %-28s %-18s %-16s %10s %12s\n", "#", "name", "op", "output (N=1)", "params",
              "MACs");
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    std::string op(op_name(n.op));
    if (n.attrs.activation != Activation::None)
      op += "+" + std::string(activation_name(n.attrs.activation));
    std::printf("%-4zu %-28s %-18s %-16s %10lld %12lld\n", i, n.name.substr(0, 28).c_str(),
                op.c_str(), shape_str(g.values[n.outputs[0]].shape).c_str(),
                static_cast<long long>(node_params(g, n)), static_cast<long long>(node_macs(g, n)));
  }
  std::printf("\ntotal   %zu nodes, %lld parameters, %lld MACs per image\n", g.nodes.size(),
              static_cast<long long>(params), static_cast<long long>(macs));
  return 0;
}

}  // namespace

void add_inspect(CLI::App& app, Subcommand& run) {
  CLI::App* sub = app.add_subcommand("inspect", "layers, shapes, parameters and MACs of a model");
  sub->add_option("MODEL", args.model, "ONNX model");
  args.imp.add_to(*sub);
  sub->add_flag("--json", args.json, "print one JSON object");
  sub->add_flag("--ops", args.ops, "list the supported ONNX operators");
  sub->callback([&run] { run = run_inspect; });
}

}  // namespace gammaq::cli
