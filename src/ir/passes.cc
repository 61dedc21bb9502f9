#include "ir/passes.h"

#include <algorithm>
#include <cmath>

#include "gammaq/error.h"
#include "ops/op.h"

namespace gammaq {
namespace {

// Removes nodes flagged in `dead` and recomputes every value's producer index.
void erase_nodes(Graph& g, const std::vector<bool>& dead) {
  std::vector<Node> kept;
  kept.reserve(g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (!dead[i]) kept.push_back(std::move(g.nodes[i]));
  g.nodes = std::move(kept);
  for (Value& v : g.values) v.producer = -1;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (int id : g.nodes[i].outputs) g.values[id].producer = static_cast<int>(i);
}

// Makes every reader of value `from` read value `to` instead.
void replace_uses(Graph& g, int from, int to) {
  for (Node& n : g.nodes)
    for (int& id : n.inputs)
      if (id == from) id = to;
  if (g.output == from) g.output = to;
  for (int& v : g.extra_outputs)
    if (v == from) v = to;
  // Two outputs that became one value are one output.
  std::vector<int> extra;
  for (int v : g.extra_outputs)
    if (v != g.output && std::find(extra.begin(), extra.end(), v) == extra.end())
      extra.push_back(v);
  g.extra_outputs = std::move(extra);
}

}  // namespace

std::vector<int> reader_counts(const Graph& g) {
  std::vector<int> count(g.values.size(), 0);
  for (const Node& n : g.nodes)
    for (int id : n.inputs)
      if (id >= 0) ++count[id];
  for (int v : graph_outputs(g)) ++count[v];
  return count;
}

int remove_identities(Graph& g) {
  std::vector<bool> dead(g.nodes.size(), false);
  int removed = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    const bool zero_pad =
        n.op == OpType::Pad &&
        std::all_of(n.attrs.pads.begin(), n.attrs.pads.end(), [](int64_t p) { return p == 0; });
    if (n.op != OpType::Identity && n.op != OpType::Dropout && !zero_pad) continue;
    replace_uses(g, n.outputs[0], n.inputs[0]);
    dead[i] = true;
    ++removed;
  }
  if (removed) erase_nodes(g, dead);
  return removed;
}

namespace {

// Folds a per-output-channel affine map into `layer_id`, the layer producing its input: each
// channel m's weights times scale(m) (when `scales`), its bias b_m replaced by bias(m, b_m)
// (a layer without bias has b_m = 0), in double and rounded once to float, as new constants
// named w_name and b_name. The layer then writes value `out`, the folded node's output.
template <typename Scale, typename Bias>
void fold_into_layer(Graph& g, int layer_id, bool scales, Scale scale, Bias bias,
                     const std::string& w_name, const std::string& b_name, int out) {
  Node& layer = g.nodes[static_cast<size_t>(layer_id)];
  Tensor w = g.values[static_cast<size_t>(layer.inputs[1])].data;
  const int64_t m = w.shape[0], per = w.numel() / m;
  Tensor b(Shape{m});
  if (layer.inputs.size() > 2) b = g.values[static_cast<size_t>(layer.inputs[2])].data;
  for (int64_t o = 0; o < m; ++o) {
    if (scales) {
      const double f = scale(o);
      for (int64_t k = 0; k < per; ++k) {
        float& v = w.data[static_cast<size_t>(o * per + k)];
        v = static_cast<float>(v * f);
      }
    }
    float& bo = b.data[static_cast<size_t>(o)];
    bo = static_cast<float>(bias(o, static_cast<double>(bo)));
  }
  if (scales) layer.inputs[1] = g.add_value(Value{w_name, w.shape, true, std::move(w), -1});
  const int bid = g.add_value(Value{b_name, b.shape, true, std::move(b), -1});
  if (layer.inputs.size() > 2)
    layer.inputs[2] = bid;
  else
    layer.inputs.push_back(bid);
  g.values[static_cast<size_t>(out)].producer = layer_id;
  layer.outputs = {out};
}

}  // namespace

int fold_batchnorm(Graph& g) {
  const std::vector<int> readers = reader_counts(g);
  std::vector<bool> dead(g.nodes.size(), false);
  int folded = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& bn = g.nodes[i];
    if (bn.op != OpType::BatchNormalization) continue;
    const int x = bn.inputs[0];
    const int p = g.values[x].producer;
    if (p < 0 || !ops::def(g.nodes[p].op).windowed || !ops::is_layer(g.nodes[p]) ||
        readers[x] != 1 || is_graph_output(g, x))
      continue;
    if (g.nodes[p].attrs.activation != Activation::None) continue;
    const std::vector<float>& scale = g.values[bn.inputs[1]].data.data;
    const std::vector<float>& shift = g.values[bn.inputs[2]].data.data;
    const std::vector<float>& mean = g.values[bn.inputs[3]].data.data;
    const std::vector<float>& var = g.values[bn.inputs[4]].data.data;
    const double eps = bn.attrs.epsilon;
    auto s = [&](int64_t o) {
      return static_cast<double>(scale[o]) / std::sqrt(static_cast<double>(var[o]) + eps);
    };
    const std::string base = g.values[g.nodes[p].inputs[1]].name;
    fold_into_layer(
        g, p, true, s, [&](int64_t o, double b) { return (b - mean[o]) * s(o) + shift[o]; },
        base + "#bn", base + "#bn_bias", bn.outputs[0]);
    dead[i] = true;
    ++folded;
  }
  if (folded) erase_nodes(g, dead);
  return folded;
}

int fold_affine(Graph& g) {
  const std::vector<int> readers = reader_counts(g);
  std::vector<bool> dead(g.nodes.size(), false);
  int folded = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& op = g.nodes[i];
    const bool scale = op.op == OpType::Mul || op.op == OpType::Div;
    const bool shift = op.op == OpType::Add || op.op == OpType::Sub;
    if ((!scale && !shift) || op.attrs.reversed || op.inputs.size() != 2) continue;
    if (op.attrs.activation != Activation::None) continue;
    const int x = op.inputs[0];
    const Value& cv = g.values[static_cast<size_t>(op.inputs[1])];
    const int p = g.values[static_cast<size_t>(x)].producer;
    if (!cv.is_constant || p < 0 || readers[static_cast<size_t>(x)] != 1 || is_graph_output(g, x))
      continue;
    const Node& layer = g.nodes[static_cast<size_t>(p)];
    if (!ops::is_layer(layer) || layer.attrs.activation != Activation::None) continue;
    // The constant must vary along the channel axis (1) of the layer output at most.
    const Shape& xs = g.values[static_cast<size_t>(x)].shape;
    const int64_t m = g.values[static_cast<size_t>(layer.inputs[1])].data.shape[0];
    if (cv.shape.size() > xs.size() || xs.size() < 2 || xs[1] != m) continue;
    bool per_channel = true;
    for (size_t k = 0; k < cv.shape.size(); ++k) {
      const size_t axis = xs.size() - cv.shape.size() + k;
      if (cv.shape[k] != 1 && axis != 1) per_channel = false;
    }
    const int64_t cn = cv.data.numel();
    if (!per_channel || (cn != 1 && cn != m)) continue;
    const std::vector<float>& cd = cv.data.data;
    auto c = [&](int64_t o) { return static_cast<double>(cd[cn == 1 ? 0 : o]); };
    auto f = [&](int64_t o) { return op.op == OpType::Div ? 1.0 / c(o) : c(o); };
    bool finite = true;
    for (int64_t o = 0; o < m; ++o) finite = finite && std::isfinite(f(o));
    if (!finite) continue;
    const std::string base =
        str_cat(g.values[static_cast<size_t>(layer.inputs[1])].name, "#", op_name(op.op), "#", i);
    fold_into_layer(
        g, p, scale, f,
        [&](int64_t o, double b) {
          return scale ? b * f(o) : b + (op.op == OpType::Sub ? -c(o) : c(o));
        },
        base, base + "_bias", op.outputs[0]);
    dead[i] = true;
    ++folded;
  }
  if (folded) erase_nodes(g, dead);
  return folded;
}

int fuse_activations(Graph& g) {
  const std::vector<int> readers = reader_counts(g);
  std::vector<bool> dead(g.nodes.size(), false);
  int fused = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& act = g.nodes[i];
    const Activation kind = ops::def(act.op).fuses_as;
    if (kind == Activation::None) continue;
    const int x = act.inputs[0];
    const int p = g.values[x].producer;
    if (p < 0 || readers[x] != 1 || is_graph_output(g, x)) continue;
    Node& prod = g.nodes[p];
    if (!ops::def(prod.op).takes_activation) continue;
    if (prod.attrs.activation != Activation::None) continue;
    prod.attrs.activation = kind;
    prod.attrs.act_min = act.attrs.clip_min;
    prod.attrs.act_max = act.attrs.clip_max;
    prod.attrs.act_alpha = act.attrs.alpha;
    g.values[act.outputs[0]].producer = p;
    prod.outputs = {act.outputs[0]};
    dead[i] = true;
    ++fused;
  }
  if (fused) erase_nodes(g, dead);
  return fused;
}

namespace {

// Whether value v is a constant holding one value equal to c (within float rounding of c).
bool is_scalar(const Graph& g, int v, double c) {
  const Value& x = g.values[static_cast<size_t>(v)];
  if (!x.is_constant || x.data.numel() != 1) return false;
  return std::fabs(x.data.data[0] - c) <= 1e-6 * std::max(1.0, std::fabs(c));
}

// The producer of value v when it is a node of operator op, v is read once and is not the
// graph output; null otherwise.
Node* single_use_producer(Graph& g, const std::vector<int>& readers, int v, OpType op) {
  const int p = g.values[static_cast<size_t>(v)].producer;
  if (p < 0 || readers[static_cast<size_t>(v)] != 1 || is_graph_output(g, v)) return nullptr;
  Node& n = g.nodes[static_cast<size_t>(p)];
  return n.op == op ? &n : nullptr;
}

// Clip(x + 3, 0, 6) read once: returns x, or -1. The Clip may already carry the Add (fused).
int relu6_of_x_plus_3(Graph& g, const std::vector<int>& readers, int v) {
  Node* clip = single_use_producer(g, readers, v, OpType::Clip);
  if (!clip || clip->attrs.clip_min != 0.0f || clip->attrs.clip_max != 6.0f) return -1;
  Node* add = single_use_producer(g, readers, clip->inputs[0], OpType::Add);
  if (!add || add->attrs.activation != Activation::None || !is_scalar(g, add->inputs[1], 3.0))
    return -1;
  return add->inputs[0];
}

// Whether node n scales its activation operand by 1/6 (Div by 6 or Mul by 1/6).
bool divides_by_6(const Graph& g, const Node& n) {
  if (n.attrs.reversed || n.attrs.activation != Activation::None) return false;
  return (n.op == OpType::Div && is_scalar(g, n.inputs[1], 6.0)) ||
         (n.op == OpType::Mul && is_scalar(g, n.inputs[1], 1.0 / 6.0));
}

// Replaces node n by a unary `op` on x (its output kept); the nodes it consumed become dead.
void make_unary(Node& n, OpType op, int x, float alpha, float beta) {
  n.op = op;
  n.inputs = {x};
  n.attrs = Attributes{};
  n.attrs.alpha = alpha;
  n.attrs.beta = beta;
}

}  // namespace

int fuse_swish(Graph& g) {
  int fused = 0;
  for (bool changed = true; changed;) {
    changed = false;
    const std::vector<int> readers = reader_counts(g);
    std::vector<bool> dead(g.nodes.size(), false);
    auto kill = [&](int value) {
      dead[static_cast<size_t>(g.values[static_cast<size_t>(value)].producer)] = true;
    };
    for (Node& n : g.nodes) {
      if (n.op != OpType::Mul && n.op != OpType::Div) continue;
      if (n.attrs.activation != Activation::None) continue;
      // (x * relu6(x + 3)) / 6 and x * (relu6(x + 3) / 6): HardSwish; relu6(x + 3) / 6:
      // HardSigmoid.
      if (divides_by_6(g, n)) {
        if (const int x = relu6_of_x_plus_3(g, readers, n.inputs[0]); x >= 0) {
          kill(n.inputs[0]);
          kill(g.nodes[static_cast<size_t>(g.values[static_cast<size_t>(n.inputs[0])].producer)]
                   .inputs[0]);
          make_unary(n, OpType::HardSigmoid, x, 1.0f / 6.0f, 0.5f);
          changed = true;
          ++fused;
          continue;
        }
        Node* m = single_use_producer(g, readers, n.inputs[0], OpType::Mul);
        if (m && m->attrs.activation == Activation::None) {
          for (int k = 0; k < 2; ++k) {
            const int x = relu6_of_x_plus_3(g, readers, m->inputs[static_cast<size_t>(k)]);
            if (x < 0 || x != m->inputs[static_cast<size_t>(1 - k)]) continue;
            const int clip_out = m->inputs[static_cast<size_t>(k)];
            const int add_out =
                g.nodes[static_cast<size_t>(g.values[static_cast<size_t>(clip_out)].producer)]
                    .inputs[0];
            kill(n.inputs[0]);
            kill(clip_out);
            kill(add_out);
            make_unary(n, OpType::HardSwish, x, 1.0f / 6.0f, 0.5f);
            changed = true;
            ++fused;
            break;
          }
          if (changed) continue;
        }
      }
      if (n.op != OpType::Mul) continue;
      // x * Sigmoid(x): SiLU; x * HardSigmoid(x) at 1/6, 1/2: HardSwish.
      for (int k = 0; k < 2; ++k) {
        const int gate = n.inputs[static_cast<size_t>(k)], x = n.inputs[static_cast<size_t>(1 - k)];
        if (g.values[static_cast<size_t>(x)].is_constant) break;
        Node* s = single_use_producer(g, readers, gate, OpType::Sigmoid);
        Node* h = single_use_producer(g, readers, gate, OpType::HardSigmoid);
        if (s && s->inputs[0] == x) {
          kill(gate);
          make_unary(n, OpType::SiLU, x, 1.0f, 0.0f);
        } else if (h && h->inputs[0] == x && std::fabs(h->attrs.alpha - 1.0 / 6.0) < 1e-7 &&
                   h->attrs.beta == 0.5f) {
          kill(gate);
          make_unary(n, OpType::HardSwish, x, 1.0f / 6.0f, 0.5f);
        } else {
          continue;
        }
        changed = true;
        ++fused;
        break;
      }
    }
    if (changed) erase_nodes(g, dead);
  }
  return fused;
}

int fold_pads(Graph& g) {
  const std::vector<int> readers = reader_counts(g);
  std::vector<bool> dead(g.nodes.size(), false);
  int folded = 0;
  for (Node& conv : g.nodes) {
    if (conv.op != OpType::Conv) continue;
    Node* pad = single_use_producer(g, readers, conv.inputs[0], OpType::Pad);
    if (!pad || pad->attrs.pad_mode != kPadConstant || pad->attrs.pad_value != 0.0f) continue;
    const std::vector<int64_t>& p = pad->attrs.pads;
    if (p.size() != 8 || p[0] || p[1] || p[4] || p[5]) continue;  // only H and W
    conv.attrs.pads[0] += p[2];
    conv.attrs.pads[1] += p[3];
    conv.attrs.pads[2] += p[6];
    conv.attrs.pads[3] += p[7];
    dead[static_cast<size_t>(g.values[static_cast<size_t>(conv.inputs[0])].producer)] = true;
    conv.inputs[0] = pad->inputs[0];
    ++folded;
  }
  if (folded) erase_nodes(g, dead);
  return folded;
}

PassReport optimize(Graph& g) {
  PassReport r;
  r.removed_identities = remove_identities(g);
  r.folded_pads = fold_pads(g);
  r.folded_batchnorms = fold_batchnorm(g);
  r.folded_affines = fold_affine(g);
  r.fused_swishes = fuse_swish(g);
  r.fused_activations = fuse_activations(g);
  validate(g);
  return r;
}

}  // namespace gammaq
