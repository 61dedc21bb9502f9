#include "engine/fake_quant.h"

#include <cmath>

#include "gammaq/error.h"

namespace gammaq {

void round_to_grid(std::span<float> x, int frac, quant::Rounding rounding) noexcept {
  for (float& v : x)
    v = static_cast<float>(
        std::ldexp(static_cast<double>(quant::round_scaled(std::ldexp(v, frac), rounding)), -frac));
}

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
    auto it = plan.layers.find(n.name);
    if (it == plan.layers.end())
      throw Error(ErrorKind::InvalidData, str_cat("quant plan has no formats for layer '", n.name,
                                                  "' of model '", g.name, "'"));
    const quant::LayerFormat& l = it->second;
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
          f, plan.rounding);
    }
    fq.constant[n.inputs[1]] = std::move(wq);
    if (n.inputs.size() > 2) {
      Tensor bq = g.values[n.inputs[2]].data;
      if (!l.bias_at_accumulator) {
        quant::fake_quant(bq.data, l.bias, plan.rounding);
      } else if (const auto& in = fq.value_format[n.inputs[0]];
                 in && l.weight_channel_frac.empty()) {
        round_to_grid(bq.data, l.weight.frac + in->frac, plan.rounding);
      } else if (in) {
        for (int64_t c = 0; c < channels; ++c)
          round_to_grid(std::span<float>(bq.data).subspan(static_cast<size_t>(c), 1),
                        l.weight_channel_frac[static_cast<size_t>(c)] + in->frac, plan.rounding);
      }
      fq.constant[n.inputs[2]] = std::move(bq);
    }
  }
  if (layers != plan.layers.size())
    throw Error(ErrorKind::InvalidData,
                str_cat("quant plan has ", plan.layers.size(), " layers, model '", g.name, "' has ",
                        layers, " (a plan from another model?)"));
  return fq;
}

}  // namespace gammaq
