#include "report/diagnostics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "engine/fake_quant.h"
#include "gammaq/error.h"
#include "gammaq/executor.h"
#include "quant/weights.h"

namespace gammaq::report {
namespace {

using Json = nlohmann::ordered_json;

Json number_or_null(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }

// Equal-width bins over [lo, hi] of the non-zero finite values.
struct Histogram {
  double lo = 0, hi = 0;
  std::vector<int64_t> counts;
  Histogram(double l, double h, int bins) : lo(l), hi(h), counts(static_cast<size_t>(bins), 0) {}
  void add(double v) {
    if (v == 0.0 || !std::isfinite(v)) return;
    const double width = hi - lo;
    auto k = width > 0 ? static_cast<int64_t>(
                             std::floor((v - lo) / width * static_cast<double>(counts.size())))
                       : 0;
    k = std::clamp<int64_t>(k, 0, static_cast<int64_t>(counts.size()) - 1);
    ++counts[static_cast<size_t>(k)];
  }
  [[nodiscard]] Json json() const { return {{"lo", lo}, {"hi", hi}, {"counts", counts}}; }
};

Json format_json(const quant::Format& f) {
  Json j = {{"bits", f.bits},
            {"frac", f.frac},
            {"signed", f.is_signed},
            {"step", f.step()},
            {"min", f.min_value()},
            {"max", f.max_value()},
            {"threshold", f.table != nullptr}};
  if (f.table) {
    std::vector<double> levels;
    for (int32_t l : f.table->levels) levels.push_back(std::ldexp(static_cast<double>(l), -f.frac));
    j["levels"] = levels;
  }
  return j;
}

struct TensorAcc {
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  int64_t total = 0, zeros = 0, saturated = 0;
  double energy = 0, err_isolated = 0, err_cumulative = 0;
  std::optional<Histogram> hist;
};

struct LayerAcc {
  double observed = 0;  // largest |accumulator| seen, in accumulator units
  bool seen = false;
};

template <typename F>
void for_batches(Dataset& data, int64_t images, int64_t batch, const DiagnoseOptions& o, F f) {
  for (int64_t begin = 0; begin < images; begin += batch) {
    const int64_t n = std::min(batch, images - begin);
    const Batch b = data.read(begin, n);
    f(b.images);
    if (o.progress) o.progress(begin + n, images);
  }
}

}  // namespace

int signed_bits_for(double m) noexcept {
  if (!(m > 0)) return 1;
  return static_cast<int>(std::ceil(std::log2(m + 1.0))) + 1;
}

Json diagnose(const Graph& g, const quant::QuantPlan& plan, Dataset& data,
              const DiagnoseOptions& o) {
  const int64_t images = std::min(o.images, data.size());
  if (images <= 0)
    throw Error(ErrorKind::InvalidData, str_cat(o.data, ": no images to diagnose the plan on"));
  const FakeQuant fq = resolve_plan(g, plan);
  const int64_t batch = std::max<int64_t>(1, o.batch);
  const int bins = std::max(1, o.bins);

  // The activations: the input and every node's output, graph order.
  std::vector<int> ids{g.input};
  for (const Node& n : g.nodes) ids.push_back(n.outputs[0]);
  std::vector<TensorAcc> acc(g.values.size());

  // Pass 1: each tensor's range on the float network (the histogram's bins).
  {
    Executor fe(g, {KernelImpl::Fast, o.threads});
    for_batches(data, images, batch, {}, [&](const Tensor& x) {
      fe.run(x);
      for (int id : ids) {
        TensorAcc& a = acc[static_cast<size_t>(id)];
        for (float v : fe.value(id).data) {
          if (v == 0.0f || !std::isfinite(v)) continue;
          a.min = std::min(a.min, static_cast<double>(v));
          a.max = std::max(a.max, static_cast<double>(v));
        }
      }
    });
  }
  for (int id : ids) {
    TensorAcc& a = acc[static_cast<size_t>(id)];
    if (!std::isfinite(a.min)) a.min = a.max = 0;
    // One-sided tensors start at 0 so the first bin is where the fitted density starts.
    a.hist.emplace(a.min >= 0 ? 0.0 : a.min, a.max <= 0 ? 0.0 : a.max, bins);
  }

  // Per Conv/Gemm: its integer constants (the accumulator's scale and bound).
  std::vector<std::optional<LayerCodes>> codes(g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    auto it = plan.layers.find(n.name);
    const auto& in = fq.value_format[static_cast<size_t>(n.inputs[0])];
    if (it == plan.layers.end() || !in) continue;
    codes[i] = layer_codes(g, n, it->second, *in, plan.rounding);
  }
  std::vector<LayerAcc> layer_acc(g.nodes.size());

  // Pass 2: the float network and the exact simulation on the same images.
  {
    Executor fe(g, {KernelImpl::Fast, o.threads});
    ExecutorOptions qo{KernelImpl::Reference, o.threads, &fq};
    qo.keep_unquantized = true;
    Executor qe(g, qo);
    for_batches(data, images, batch, o, [&](const Tensor& x) {
      fe.run(x);
      qe.run(x);
      for (int id : ids) {
        TensorAcc& a = acc[static_cast<size_t>(id)];
        const std::vector<float>& f = fe.value(id).data;
        const std::vector<float>& q = qe.value(id).data;
        const auto& fmt = fq.value_format[static_cast<size_t>(id)];
        a.total += static_cast<int64_t>(f.size());
        for (size_t k = 0; k < f.size(); ++k) {
          const double v = f[k];
          if (!std::isfinite(v)) continue;
          if (v == 0.0) ++a.zeros;
          a.hist->add(v);
          a.energy += v * v;
          const double dc = v - static_cast<double>(q[k]);
          a.err_cumulative += dc * dc;
          if (fmt) {
            const double di = v - quant::fake_quant(v, *fmt, plan.rounding);
            a.err_isolated += di * di;
            const double half = fmt->table ? 0.0 : 0.5 * fmt->step();
            a.saturated += v > fmt->max_value() + half || v < fmt->min_value() - half;
          }
        }
      }
      for (size_t i = 0; i < g.nodes.size(); ++i) {
        if (!codes[i]) continue;
        const std::vector<float>& raw = qe.unquantized(g.nodes[i].outputs[0]);
        if (raw.empty()) continue;
        const LayerCodes& c = *codes[i];
        const Shape& s = g.values[static_cast<size_t>(g.nodes[i].outputs[0])].shape;
        const int64_t channels = s.size() > 1 ? s[1] : 1;
        int64_t inner = 1;
        for (size_t d = 2; d < s.size(); ++d) inner *= s[d];
        for (size_t k = 0; k < raw.size(); ++k) {
          const auto ch = static_cast<size_t>((static_cast<int64_t>(k) / inner) % channels);
          const int wf = c.weight_frac[std::min(ch, c.weight_frac.size() - 1)];
          const double m = std::ldexp(std::fabs(static_cast<double>(raw[k])), wf + c.input_frac);
          layer_acc[i].observed = std::max(layer_acc[i].observed, m);
        }
        layer_acc[i].seen = true;
      }
    });
  }

  Json j;
  j["gammaq_diagnostics"] = 1;
  j["model"] = plan.model;
  j["model_sha256"] = plan.model_sha256;
  j["data"] = o.data;
  j["images"] = images;
  j["bins"] = bins;
  Json& tensors = j["tensors"] = Json::array();
  for (int id : ids) {
    const TensorAcc& a = acc[static_cast<size_t>(id)];
    const Value& v = g.values[static_cast<size_t>(id)];
    Json t;
    t["name"] = v.name;
    t["producer"] =
        v.producer >= 0 ? Json(g.nodes[static_cast<size_t>(v.producer)].name) : Json(nullptr);
    t["op"] = v.producer >= 0 ? std::string(op_name(g.nodes[static_cast<size_t>(v.producer)].op))
                              : std::string("Input");
    std::vector<int64_t> shape(v.shape.begin() + (v.shape.empty() ? 0 : 1), v.shape.end());
    t["shape"] = shape;
    const auto& fmt = fq.value_format[static_cast<size_t>(id)];
    t["format"] = fmt ? format_json(*fmt) : Json(nullptr);
    t["values"] = a.total;
    t["zero_fraction"] = a.total ? static_cast<double>(a.zeros) / static_cast<double>(a.total) : 0;
    t["min"] = a.min;
    t["max"] = a.max;
    t["histogram"] = a.hist->json();
    const double iso =
        fmt ? quant::sqnr_db(a.energy, a.err_isolated) : std::numeric_limits<double>::quiet_NaN();
    t["sqnr_isolated_db"] = number_or_null(iso);
    t["sqnr_cumulative_db"] = number_or_null(quant::sqnr_db(a.energy, a.err_cumulative));
    if (fmt && a.err_isolated == 0 && a.energy > 0) t["exact"] = true;
    t["saturation"] = fmt && a.total
                          ? Json(static_cast<double>(a.saturated) / static_cast<double>(a.total))
                          : Json(nullptr);
    tensors.push_back(t);
  }
  Json& layers = j["layers"] = Json::array();
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    Json l;
    l["name"] = n.name;
    l["op"] = std::string(op_name(n.op));
    l["macs"] = node_macs(g, n);
    const Value& in = g.values[static_cast<size_t>(n.inputs[0])];
    const Value& out = g.values[static_cast<size_t>(n.outputs[0])];
    l["input"] = in.name;
    l["output"] = out.name;
    l["input_shape"] = std::vector<int64_t>(in.shape.begin() + 1, in.shape.end());
    l["output_shape"] = std::vector<int64_t>(out.shape.begin() + 1, out.shape.end());
    auto it = plan.layers.find(n.name);
    if (it != plan.layers.end()) {
      const Tensor& w = g.values[static_cast<size_t>(n.inputs[1])].data;
      l["weight_shape"] = w.shape;
      double m = 0;
      for (float v : w.data) m = std::max(m, std::fabs(static_cast<double>(v)));
      Histogram h(-m, m, bins);
      for (float v : w.data) h.add(v);
      const quant::LayerFormat& lf = it->second;
      Json wj = format_json(lf.weight);
      if (!lf.weight_channel_frac.empty()) {
        const auto [lo, hi] =
            std::minmax_element(lf.weight_channel_frac.begin(), lf.weight_channel_frac.end());
        wj["frac_min"] = *lo;
        wj["frac_max"] = *hi;
      }
      wj["codebooks"] = lf.weight_codebooks.size();
      wj["max_abs"] = m;
      wj["histogram"] = h.json();
      l["weight"] = wj;
      if (codes[i]) {
        const LayerCodes& c = *codes[i];
        const quant::Format& fin = *fq.value_format[static_cast<size_t>(n.inputs[0])];
        const double xmax = static_cast<double>(std::max(-fin.qmin(), fin.qmax()));
        const size_t channels = c.weight_frac.size();
        const size_t per = channels ? c.weight.size() / channels : 0;
        double bound = 0;
        for (size_t ch = 0; ch < channels; ++ch) {
          double s = 0;
          for (size_t k = 0; k < per; ++k)
            s += std::fabs(static_cast<double>(c.weight[ch * per + k]));
          s *= xmax;
          if (ch < c.bias.size()) s += std::fabs(static_cast<double>(c.bias[ch]));
          bound = std::max(bound, s);
        }
        Json aj = {{"bound_bits", signed_bits_for(bound)}, {"limit_bits", 32}};
        aj["observed_bits"] =
            layer_acc[i].seen ? Json(signed_bits_for(layer_acc[i].observed)) : Json(nullptr);
        l["accumulator"] = aj;
      }
    }
    layers.push_back(l);
  }
  return j;
}

}  // namespace gammaq::report
