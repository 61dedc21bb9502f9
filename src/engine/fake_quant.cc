#include "engine/fake_quant.h"

#include <cmath>

#include "gammaq/error.h"
#include "ops/op.h"

namespace gammaq {

namespace {

// Checks a layer's per-channel format count against its weight.
void check_channels(const Node& n, const quant::LayerFormat& l, int64_t channels) {
  if (!l.weight_channel_frac.empty() &&
      static_cast<int64_t>(l.weight_channel_frac.size()) != channels)
    throw Error(ErrorKind::InvalidData,
                str_cat("quant plan: layer '", n.name, "' has ", l.weight_channel_frac.size(),
                        " channel formats, the weight has ", channels, " output channels"));
  if (!l.bias_correction.empty() &&
      (static_cast<int64_t>(l.bias_correction.size()) != channels || n.inputs.size() < 3))
    throw Error(ErrorKind::InvalidData,
                str_cat("quant plan: layer '", n.name, "' has ", l.bias_correction.size(),
                        " bias corrections for ", n.inputs.size() < 3 ? 0 : channels,
                        " biased output channels"));
  const size_t cbs = l.weight_codebooks.size();
  if (cbs > 1 && static_cast<int64_t>(cbs) != channels)
    throw Error(ErrorKind::InvalidData,
                str_cat("quant plan: layer '", n.name, "' has ", cbs, " codebooks, the weight has ",
                        channels, " output channels"));
}

quant::Format channel_format(const quant::LayerFormat& l, int64_t c) {
  quant::Format f = l.weight;
  if (!l.weight_channel_frac.empty()) f.frac = l.weight_channel_frac[static_cast<size_t>(c)];
  return f;
}

}  // namespace

LayerCodes layer_codes(const Graph& g, const Node& n, const quant::LayerFormat& l,
                       const quant::Format& input, quant::Rounding rounding) {
  const Tensor& w = g.values[n.inputs[1]].data;
  const int64_t channels = w.shape[0];
  const int64_t per = w.numel() / channels;
  check_channels(n, l, channels);
  LayerCodes c;
  c.input_frac = input.frac;
  c.weight.resize(w.data.size());
  for (int64_t m = 0; m < channels; ++m) {
    const quant::Format f = channel_format(l, m);
    c.weight_frac.push_back(f.frac);
    for (int64_t k = m * per; k < (m + 1) * per; ++k)
      c.weight[static_cast<size_t>(k)] = static_cast<int32_t>(
          quant::weight_code(w.data[static_cast<size_t>(k)], f, l, m, rounding));
  }
  if (n.inputs.size() > 2) {
    const Tensor& b = g.values[n.inputs[2]].data;
    quant::Format wide;  // a 32-bit signed accumulator for biases finer than it
    wide.bits = 32;
    for (int64_t m = 0; m < channels; ++m) {
      const int acc_frac = c.weight_frac[static_cast<size_t>(m)] + input.frac;
      const double v =
          static_cast<double>(b.data[static_cast<size_t>(m)]) +
          (l.bias_correction.empty() ? 0.0 : l.bias_correction[static_cast<size_t>(m)]);
      if (l.bias_at_accumulator) {
        c.bias.push_back(quant::accumulator_bias(v, acc_frac, rounding).accumulator());
      } else {
        const int64_t code = quant::quantize_code(v, l.bias, rounding);
        c.bias.push_back(quant::requantize(code, l.bias.frac - acc_frac, wide, rounding));
      }
    }
  }
  return c;
}

namespace {

// Quantized copies of node n's weights and bias under layer format l. With a quantized input
// they are the values of layer_codes (the integer engine's constants); with a float input
// (float feature maps) the weights are rounded alone, an accumulator-precision bias stays
// float and a bias with its own format is rounded to it.
void quantize_layer(const Graph& g, const Node& n, const quant::LayerFormat& l,
                    quant::Rounding rounding, FakeQuant& fq) {
  const Tensor& w = g.values[n.inputs[1]].data;
  const int64_t channels = w.shape[0];
  const int64_t per = w.numel() / channels;
  const auto& in = fq.value_format[n.inputs[0]];
  Tensor wq = w;
  if (in) {
    const LayerCodes c = layer_codes(g, n, l, *in, rounding);
    for (size_t k = 0; k < wq.data.size(); ++k)
      wq.data[k] = static_cast<float>(std::ldexp(static_cast<double>(c.weight[k]),
                                                 -c.weight_frac[k / static_cast<size_t>(per)]));
    if (n.inputs.size() > 2) {
      Tensor bq = g.values[n.inputs[2]].data;
      for (size_t m = 0; m < bq.data.size(); ++m)
        bq.data[m] = static_cast<float>(
            std::ldexp(static_cast<double>(c.bias[m]), -(c.weight_frac[m] + c.input_frac)));
      fq.constant[n.inputs[2]] = std::move(bq);
    }
  } else {
    check_channels(n, l, channels);
    for (int64_t m = 0; m < channels; ++m) {
      const quant::Format f = channel_format(l, m);
      if (l.weight_codebooks.empty()) {
        quant::fake_quant(std::span<float>(wq.data).subspan(static_cast<size_t>(m * per),
                                                            static_cast<size_t>(per)),
                          f, rounding);
        continue;
      }
      for (int64_t k = m * per; k < (m + 1) * per; ++k) {
        float& v = wq.data[static_cast<size_t>(k)];
        v = static_cast<float>(
            std::ldexp(static_cast<double>(quant::weight_code(v, f, l, m, rounding)), -f.frac));
      }
    }
    if (n.inputs.size() > 2) {
      Tensor bq = g.values[n.inputs[2]].data;
      for (size_t m = 0; m < l.bias_correction.size(); ++m)
        bq.data[m] = static_cast<float>(static_cast<double>(bq.data[m]) + l.bias_correction[m]);
      if (!l.bias_at_accumulator) quant::fake_quant(bq.data, l.bias, rounding);
      fq.constant[n.inputs[2]] = std::move(bq);
    }
  }
  fq.constant[n.inputs[1]] = std::move(wq);
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
    if (!ops::is_layer(n)) continue;
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
