#include "gammaq/graph.h"

#include <algorithm>
#include <array>

#include "gammaq/error.h"

namespace gammaq {
namespace {

constexpr std::array kOpNames = {
#define GAMMAQ_OP(e, name) std::string_view(name),
#include "gammaq/ops.inc"
#undef GAMMAQ_OP
};
constexpr size_t kOpCount = 0
#define GAMMAQ_OP(e, name) +1
#include "gammaq/ops.inc"
#undef GAMMAQ_OP
    ;
static_assert(kOpNames.size() == kOpCount, "ops.inc: every op needs a name");

}  // namespace

std::string_view op_name(OpType op) noexcept { return kOpNames[static_cast<size_t>(op)]; }

std::optional<OpType> op_from_onnx(std::string_view onnx_name) noexcept {
  for (size_t i = 0; i < kOpNames.size(); ++i)
    if (kOpNames[i] == onnx_name) return static_cast<OpType>(i);
  return std::nullopt;
}

int Graph::find_value(std::string_view value_name) const {
  for (size_t i = 0; i < values.size(); ++i)
    if (values[i].name == value_name) return static_cast<int>(i);
  return -1;
}

int Graph::add_value(Value v) {
  values.push_back(std::move(v));
  return static_cast<int>(values.size()) - 1;
}

bool is_graph_output(const Graph& g, int v) noexcept {
  return v == g.output ||
         std::find(g.extra_outputs.begin(), g.extra_outputs.end(), v) != g.extra_outputs.end();
}

std::vector<int> graph_outputs(const Graph& g) {
  std::vector<int> out = {g.output};
  out.insert(out.end(), g.extra_outputs.begin(), g.extra_outputs.end());
  return out;
}

int64_t node_macs(const Graph& g, const Node& node) {
  if (node.op == OpType::Conv) {
    const Shape& w = g.values[node.inputs[1]].shape;   // [M, C/group, kh, kw]
    const Shape& y = g.values[node.outputs[0]].shape;  // [1, M, oh, ow]
    return shape_numel(y) * w[1] * w[2] * w[3];
  }
  if (node.op == OpType::ConvTranspose) {  // every input value meets M/group * kh * kw taps
    const Shape& w = g.values[node.inputs[1]].shape;
    const Shape& x = g.values[node.inputs[0]].shape;
    return shape_numel(x) * (w[0] / node.attrs.group) * w[2] * w[3];
  }
  if (node.op == OpType::Gemm || node.op == OpType::MatMul) {
    const Shape& w = g.values[node.inputs[1]].shape;  // [out, in]
    return w[0] * w[1];
  }
  return 0;
}

int64_t graph_parameter_count(const Graph& g) {
  int64_t n = 0;
  std::vector<bool> seen(g.values.size(), false);
  for (const Node& node : g.nodes)
    for (int id : node.inputs)
      if (id >= 0 && g.values[id].is_constant && !seen[id]) {
        seen[id] = true;
        n += shape_numel(g.values[id].shape);
      }
  return n;
}

void validate(const Graph& g) {
  const int nv = static_cast<int>(g.values.size());
  GAMMAQ_CHECK(g.input >= 0 && g.input < nv, "graph input id ", g.input);
  GAMMAQ_CHECK(g.output >= 0 && g.output < nv, "graph output id ", g.output);
  std::vector<bool> ready(g.values.size(), false);
  for (int i = 0; i < nv; ++i) ready[i] = g.values[i].is_constant;
  ready[g.input] = true;
  for (size_t n = 0; n < g.nodes.size(); ++n) {
    const Node& node = g.nodes[n];
    for (int id : node.inputs)
      GAMMAQ_CHECK(id == -1 || (id >= 0 && id < nv && ready[id]), "node '", node.name,
                   "' reads value ", id, " before it is produced");
    for (int id : node.outputs) {
      GAMMAQ_CHECK(id >= 0 && id < nv && !ready[id], "node '", node.name, "' output ", id);
      GAMMAQ_CHECK(g.values[id].producer == static_cast<int>(n), "producer of '", g.values[id].name,
                   "'");
      ready[id] = true;
    }
    GAMMAQ_CHECK(!node.inputs.empty() && node.inputs[0] >= 0, "node '", node.name, "' input");
    if (node.op == OpType::Conv || node.op == OpType::ConvTranspose) {
      const Shape& w = g.values[node.inputs[1]].shape;
      const Shape& x = g.values[node.inputs[0]].shape;
      GAMMAQ_CHECK(w.size() == 4 && x.size() == 4 && x[1] == w[1] * node.attrs.group &&
                       w[0] % node.attrs.group == 0,
                   "conv '", node.name, "' weight ", shape_str(w), " input ", shape_str(x));
    }
  }
  for (int v : graph_outputs(g))
    GAMMAQ_CHECK(v >= 0 && v < nv && ready[v] && !g.values[v].is_constant, "graph output ", v);
}

std::vector<bool> nodes_downstream_of(const Graph& g, int value) {
  std::vector<bool> changed(g.values.size(), false), dirty(g.nodes.size(), false);
  changed[static_cast<size_t>(value)] = true;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (int in : g.nodes[i].inputs) dirty[i] = dirty[i] || changed[static_cast<size_t>(in)];
    if (dirty[i])
      for (int out : g.nodes[i].outputs) changed[static_cast<size_t>(out)] = true;
  }
  return dirty;
}

}  // namespace gammaq
