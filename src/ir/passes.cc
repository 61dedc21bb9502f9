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
}

}  // namespace

std::vector<int> reader_counts(const Graph& g) {
  std::vector<int> count(g.values.size(), 0);
  for (const Node& n : g.nodes)
    for (int id : n.inputs)
      if (id >= 0) ++count[id];
  ++count[g.output];
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

int fold_batchnorm(Graph& g) {
  const std::vector<int> readers = reader_counts(g);
  std::vector<bool> dead(g.nodes.size(), false);
  int folded = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& bn = g.nodes[i];
    if (bn.op != OpType::BatchNormalization) continue;
    const int x = bn.inputs[0];
    const int p = g.values[x].producer;
    if (p < 0 || g.nodes[p].op != OpType::Conv || readers[x] != 1 || x == g.output) continue;
    Node& conv = g.nodes[p];
    if (conv.attrs.activation != Activation::None) continue;
    const std::vector<float>& scale = g.values[bn.inputs[1]].data.data;
    const std::vector<float>& shift = g.values[bn.inputs[2]].data.data;
    const std::vector<float>& mean = g.values[bn.inputs[3]].data.data;
    const std::vector<float>& var = g.values[bn.inputs[4]].data.data;
    Tensor w = g.values[conv.inputs[1]].data;
    const int64_t m = w.shape[0];
    const int64_t per_out = w.numel() / m;
    Tensor b(Shape{m});
    if (conv.inputs.size() > 2) b = g.values[conv.inputs[2]].data;
    for (int64_t o = 0; o < m; ++o) {
      // Folded in double, rounded once to float.
      const double s =
          static_cast<double>(scale[o]) / std::sqrt(static_cast<double>(var[o]) + bn.attrs.epsilon);
      for (int64_t k = 0; k < per_out; ++k)
        w.data[o * per_out + k] = static_cast<float>(w.data[o * per_out + k] * s);
      b.data[o] = static_cast<float>((static_cast<double>(b.data[o]) - mean[o]) * s + shift[o]);
    }
    const std::string base = g.values[conv.inputs[1]].name;
    Value wv{base + "#bn", w.shape, true, std::move(w), -1};
    Value bv{base + "#bn_bias", b.shape, true, std::move(b), -1};
    conv.inputs = {conv.inputs[0], g.add_value(std::move(wv)), g.add_value(std::move(bv))};
    // The conv now produces the batch-norm output value.
    g.values[bn.outputs[0]].producer = p;
    conv.outputs = {bn.outputs[0]};
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
    if (p < 0 || readers[x] != 1 || x == g.output) continue;
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

PassReport optimize(Graph& g) {
  PassReport r;
  r.removed_identities = remove_identities(g);
  r.folded_batchnorms = fold_batchnorm(g);
  r.fused_activations = fuse_activations(g);
  validate(g);
  return r;
}

}  // namespace gammaq
