#include "engine/fake_quant.h"

#include <cmath>

#include "gammaq/error.h"

namespace gammaq {

void round_to_grid(std::span<float> x, int frac, quant::Rounding rounding) noexcept {
  for (float& v : x)
    v = static_cast<float>(
        std::ldexp(static_cast<double>(quant::round_scaled(std::ldexp(v, frac), rounding)), -frac));
}

namespace {

// Quantized copies of node n's weights and bias under layer format l (the bias at accumulator
// precision needs the input's format, already in fq.value_format).
void quantize_layer(const Graph& g, const Node& n, const quant::LayerFormat& l,
                    quant::Rounding rounding, FakeQuant& fq) {
  const Tensor& w = g.values[n.inputs[1]].data;
  Tensor wq = w;
  const int64_t channels = w.shape[0];
  const int64_t per = w.numel() / channels;
  if (!l.weight_channel_frac.empty() &&
      static_cast<int64_t>(l.weight_channel_frac.size()) != channels)
    throw Error(ErrorKind::InvalidData,
                str_cat("quant plan: layer '", n.name, "' has ", l.weight_channel_frac.size(),
                        " channel formats, the weight has ", channels, " output channels"));
  for (int64_t c = 0; c < channels; ++c) {
    quant::Format f = l.weight;
    if (!l.weight_channel_frac.empty()) f.frac = l.weight_channel_frac[static_cast<size_t>(c)];
    quant::fake_quant(
        std::span<float>(wq.data).subspan(static_cast<size_t>(c * per), static_cast<size_t>(per)),
        f, rounding);
  }
  fq.constant[n.inputs[1]] = std::move(wq);
  if (n.inputs.size() > 2) {
    Tensor bq = g.values[n.inputs[2]].data;
    if (!l.bias_at_accumulator) {
      quant::fake_quant(bq.data, l.bias, rounding);
    } else if (const auto& in = fq.value_format[n.inputs[0]]; in && l.weight_channel_frac.empty()) {
      round_to_grid(bq.data, l.weight.frac + in->frac, rounding);
    } else if (in) {
      for (int64_t c = 0; c < channels; ++c)
        round_to_grid(std::span<float>(bq.data).subspan(static_cast<size_t>(c), 1),
                      l.weight_channel_frac[static_cast<size_t>(c)] + in->frac, rounding);
    }
    fq.constant[n.inputs[2]] = std::move(bq);
  }
}

const quant::LayerFormat& layer_of(const Graph& g, const quant::QuantPlan& plan, const Node& n) {
  auto it = plan.layers.find(n.name);
  if (it == plan.layers.end())
    throw Error(ErrorKind::InvalidData, str_cat("quant plan has no formats for layer '", n.name,
                                                "' of model '", g.name, "'"));
  return it->second;
}

}  // namespace

FakeQuant resolve_plan(const Graph& g, const quant::QuantPlan& plan) {
  FakeQuant fq;
  fq.rounding = plan.rounding;
  fq.value_format.assign(g.values.size(), std::nullopt);
  fq.constant.assign(g.values.size(), Tensor());
  if (!plan.float_activations) {
    for (size_t v = 0; v < g.values.size(); ++v) {
      // Live activations only: the input and values some node produces (passes leave the
      // intermediate values of fused nodes behind, unproduced).
      if (g.values[v].is_constant || (static_cast<int>(v) != g.input && g.values[v].producer < 0))
        continue;
      auto it = plan.activations.find(g.values[v].name);
      if (it == plan.activations.end())
        throw Error(ErrorKind::InvalidData,
                    str_cat("quant plan has no format for tensor '", g.values[v].name,
                            "' of model '", g.name, "' (a plan from another model?)"));
      fq.value_format[v] = it->second.format;
    }
  }
  size_t layers = 0;
  for (const Node& n : g.nodes) {
    if (n.op != OpType::Conv && n.op != OpType::Gemm) continue;
    ++layers;
    quantize_layer(g, n, layer_of(g, plan, n), plan.rounding, fq);
  }
  if (layers != plan.layers.size())
    throw Error(ErrorKind::InvalidData,
                str_cat("quant plan has ", plan.layers.size(), " layers, model '", g.name, "' has ",
                        layers, " (a plan from another model?)"));
  return fq;
}

void update_fake_quant(const Graph& g, const quant::QuantPlan& plan, FakeQuant& fq,
                       std::span<const size_t> layer_nodes) {
  for (size_t v = 0; v < g.values.size(); ++v) {
    if (!fq.value_format[v]) continue;
    fq.value_format[v] = plan.activations.at(g.values[v].name).format;
  }
  for (size_t i : layer_nodes)
    quantize_layer(g, g.nodes[i], layer_of(g, plan, g.nodes[i]), plan.rounding, fq);
}

}  // namespace gammaq
