#include "pipeline/quantize.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/fake_quant.h"
#include "gammaq/error.h"
#include "gammaq/executor.h"
#include "ops/op.h"
#include "pipeline/chunked_pass.h"
#include "quant/methods/method.h"
#include "quant/nuuq.h"
#include "quant/threshold.h"
#include "quant/weights.h"
#include "stats/tensor_stats.h"

namespace gammaq {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int node_weight_bits(const QuantizeOptions& o, const Node& n) {
  auto it = o.weight_bits_override.find(n.name);
  return it != o.weight_bits_override.end() ? it->second : o.wbits;
}

// Signal energy and squared error of a weight tensor quantized per layer or per channel.
double weight_sqnr(std::span<const float> w, const std::vector<quant::Format>& per_channel,
                   quant::Rounding r) {
  const size_t per = w.size() / per_channel.size();
  double signal = 0, noise = 0;
  for (size_t c = 0; c < per_channel.size(); ++c)
    for (size_t k = 0; k < per; ++k) {
      const double v = w[c * per + k];
      const double d = v - quant::fake_quant(v, per_channel[c], r);
      signal += v * v;
      noise += d * d;
    }
  return quant::sqnr_db(signal, noise);
}

// weight_sqnr of a layer's weights under its format (per layer, or per channel when the
// layer has channel fracs; through its codebooks when it has them).
double layer_weight_sqnr(const Tensor& w, const quant::LayerFormat& l, quant::Rounding r) {
  std::vector<quant::Format> formats(static_cast<size_t>(w.shape[0]), l.weight);
  for (size_t c = 0; c < l.weight_channel_frac.size(); ++c)
    formats[c].frac = l.weight_channel_frac[c];
  if (l.weight_codebooks.empty()) return weight_sqnr(w.data, formats, r);
  const size_t per = w.data.size() / formats.size();
  double signal = 0, noise = 0;
  for (size_t c = 0; c < formats.size(); ++c)
    for (size_t k = c * per; k < (c + 1) * per; ++k) {
      const double v = w.data[k];
      const double d = v - std::ldexp(static_cast<double>(quant::weight_code(
                                          w.data[k], formats[c], l, static_cast<int64_t>(c), r)),
                                      -formats[c].frac);
      signal += v * v;
      noise += d * d;
    }
  return quant::sqnr_db(signal, noise);
}

// Codebook weights (NUUQ, threshold quantizers): one codebook for the layer, or one per output
// channel, each from `choose` on its weights; every channel on one grid width, each its own frac.
template <typename Choose>
void choose_codebooks(const Tensor& w, bool per_channel, quant::LayerFormat& l, Choose choose) {
  const int64_t channels = per_channel ? w.shape[0] : 1;
  const size_t per = w.data.size() / static_cast<size_t>(channels);
  for (int64_t c = 0; c < channels; ++c) {
    const quant::NuuqChoice ch =
        choose(std::span<const float>(w.data).subspan(static_cast<size_t>(c) * per, per));
    if (c == 0) l.weight = ch.grid;
    if (per_channel) l.weight_channel_frac.push_back(ch.grid.frac);
    l.weight_codebooks.push_back(ch.codebook);
  }
}

// NUUQ weights: Q levels of the grid.
void choose_nuuq_layer(const Tensor& w, int bits, const QuantizeOptions& o, quant::LayerFormat& l) {
  quant::NuuqOptions no;
  no.levels = o.wlevels;
  no.bits = bits;
  no.zero = o.nuuq_zero;
  no.symmetric = o.nuuq_sym;
  no.lloyd = o.nuuq_lloyd;
  no.window = o.weight_window;
  no.rounding = o.rounding;
  choose_codebooks(w, o.per_channel, l,
                   [&](std::span<const float> part) { return quant::choose_nuuq(part, no); });
}

// Threshold-quantizer weights: 2^bits equiprobable bins.
void choose_threshold_layer(const Tensor& w, int bits, const QuantizeOptions& o,
                            quant::LayerFormat& l) {
  quant::ThresholdWeightOptions to;
  to.bits = bits;
  to.grid_bits = o.threshold_grid_bits;
  to.empirical = o.wthreshold == "empirical";
  to.lloyd = o.threshold_lloyd;
  to.rounding = o.rounding;
  choose_codebooks(w, o.per_channel, l, [&](std::span<const float> part) {
    return quant::threshold_codebook(part, to);
  });
}

quant::LayerFormat choose_layer(const Graph& g, const Node& n, const QuantizeOptions& o) {
  quant::LayerFormat l;
  const int bits = node_weight_bits(o, n);
  const Tensor& w = g.values[n.inputs[1]].data;
  const int64_t channels = w.shape[0];
  try {
    if (!o.wthreshold.empty()) {
      choose_threshold_layer(w, bits, o, l);
    } else if (o.wlevels > 0) {
      choose_nuuq_layer(w, bits, o, l);
    } else if (o.method == "ristretto") {
      l.weight = quant::ristretto_weight_format(w.data, bits);
    } else if (o.per_channel) {
      const auto choices = quant::choose_weight_format_per_channel(w.data, channels, bits,
                                                                   o.weight_window, o.rounding);
      l.weight = choices[0].format;
      for (const auto& c : choices) l.weight_channel_frac.push_back(c.format.frac);
    } else {
      l.weight = quant::choose_weight_format(w.data, bits, o.weight_window, o.rounding).format;
    }
  } catch (const Error& e) {
    throw with_context(e,
                       str_cat("layer '", n.name, "' weight '", g.values[n.inputs[1]].name, "'"));
  }
  l.weight_sqnr_db = layer_weight_sqnr(w, l, o.rounding);
  if (o.bbits != "acc" && n.inputs.size() > 2) {
    const int bbits = std::stoi(o.bbits);
    const Tensor& b = g.values[n.inputs[2]].data;
    l.bias_at_accumulator = false;
    l.bias = o.method == "ristretto"
                 ? quant::ristretto_weight_format(b.data, bbits)
                 : quant::choose_weight_format(b.data, bbits, o.weight_window, o.rounding).format;
    l.bias_sqnr_db = weight_sqnr(b.data, {l.bias}, o.rounding);
  }
  return l;
}

// Per-chunk statistics of every activation (pass 1).
// Also sums of each channel (axis 1) of the values flagged in `means`, and their counts.
struct StatsSink final : ChunkSink {
  std::vector<std::unique_ptr<stats::TensorStats>> st;
  std::vector<std::vector<double>> sums;
  std::vector<int64_t> counts;
  StatsSink(const std::vector<int>& acts, size_t values, const std::vector<bool>& means)
      : st(values), sums(values), counts(values, 0) {
    for (int v : acts) st[v] = std::make_unique<stats::TensorStats>();
    for (size_t v = 0; v < means.size(); ++v)
      if (means[v]) sums[v].assign(1, 0.0);  // sized at the first tap
  }
  void tap(int id, const Tensor& t, int64_t first) override {
    if (st[id]) st[id]->add(t.data, first, t.shape[0]);
    std::vector<double>& s = sums[static_cast<size_t>(id)];
    if (s.empty()) return;
    const int64_t n = t.shape[0], c = t.rank() > 1 ? t.shape[1] : 1;
    const int64_t inner = t.numel() / (n * c);
    if (s.size() != static_cast<size_t>(c)) s.assign(static_cast<size_t>(c), 0.0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t ch = 0; ch < c; ++ch) {
        double acc = 0;
        const float* x = t.data.data() + (i * c + ch) * inner;
        for (int64_t k = 0; k < inner; ++k) acc += x[k];
        s[static_cast<size_t>(ch)] += acc;
      }
    counts[static_cast<size_t>(id)] += n * inner;
  }
};

// Per-chunk squared errors of the candidate formats (pass 2).
struct ErrorsSink final : ChunkSink {
  std::vector<std::unique_ptr<quant::EmpiricalErrors>> emp;
  explicit ErrorsSink(const std::vector<std::unique_ptr<quant::EmpiricalErrors>>& like)
      : emp(like.size()) {
    for (size_t v = 0; v < like.size(); ++v)
      if (like[v]) emp[v] = std::make_unique<quant::EmpiricalErrors>(like[v]->empty_like());
  }
  void tap(int id, const Tensor& t, int64_t) override {
    if (emp[id]) emp[id]->add(t.data);
  }
};

// The next weight layers of value v (Conv/Gemm nodes reading it as their data input), each
// as a one-node graph without bias or activation: what adlq's error propagation runs. Null
// when no weight layer reads v directly.
std::function<quant::Propagate()> next_layer_propagation(const Graph& g, int v) {
  auto graphs = std::make_shared<std::vector<Graph>>();
  for (const Node& n : g.nodes) {
    if (!ops::is_layer(n) || n.inputs[0] != v) continue;
    Graph one;
    one.name = n.name;
    one.opset = g.opset;
    Value in{g.values[v].name, g.values[v].shape, false, {}, -1};
    Value w = g.values[n.inputs[1]];
    Value out{g.values[n.outputs[0]].name, g.values[n.outputs[0]].shape, false, {}, 0};
    Node node = n;
    if (n.op == OpType::Gemm) {  // as a 1x1 convolution (the executor takes NCHW batches)
      const int64_t k = w.data.shape[1], m = w.data.shape[0];
      in.shape = {1, k, 1, 1};
      w.shape = w.data.shape = {m, k, 1, 1};
      out.shape = {1, m, 1, 1};
      node.op = OpType::Conv;
      node.attrs = Attributes{};
      node.attrs.kernel = {1, 1};
      node.attrs.strides = {1, 1};
      node.attrs.pads = {0, 0, 0, 0};
      node.attrs.dilations = {1, 1};
    }
    one.input = one.add_value(std::move(in));
    const int wid = one.add_value(std::move(w));
    one.output = one.add_value(std::move(out));
    node.inputs = {one.input, wid};
    node.outputs = {one.output};
    node.attrs.activation = Activation::None;
    one.nodes.push_back(std::move(node));
    graphs->push_back(std::move(one));
  }
  if (graphs->empty()) return nullptr;
  return [graphs, shape = (*graphs)[0].values[0].shape]() -> quant::Propagate {
    auto execs = std::make_shared<std::vector<std::unique_ptr<Executor>>>();
    for (const Graph& one : *graphs)
      execs->push_back(std::make_unique<Executor>(one, ExecutorOptions{KernelImpl::Fast, 0}));
    return [graphs, execs, shape](std::span<const float> e) {
      const int64_t per = shape_numel(shape);
      Shape s = shape;
      s[0] = static_cast<int64_t>(e.size()) / per;
      Tensor t(s);
      std::copy(e.begin(), e.end(), t.data.begin());
      double sum = 0.0;
      for (auto& ex : *execs)
        for (float y : ex->run(t).data) sum += static_cast<double>(y) * y;
      return sum;
    };
  };
}

}  // namespace

std::vector<bool> nonnegative_values(const Graph& g) {
  std::vector<bool> nn(g.values.size(), false);
  auto act_nonneg = [](const Attributes& a) {
    return a.activation == Activation::Relu || a.activation == Activation::Sigmoid ||
           (a.activation == Activation::Clip && a.act_min >= 0.0f);
  };
  for (const Node& n : g.nodes) {
    const int y = n.outputs[0];
    const bool in0 = !g.values[n.inputs[0]].is_constant && nn[n.inputs[0]];
    bool all_in = true;
    for (int id : n.inputs) all_in = all_in && !g.values[id].is_constant && nn[id];
    const auto rule = ops::def(n.op).nonnegative;
    nn[y] = act_nonneg(n.attrs) || (rule && rule(n, in0, all_in));
  }
  return nn;
}

struct FeatureMapCalibration::Impl {
  const Graph& g;
  Dataset& calib;
  const QuantizeOptions& o;
  FakeQuant fq;
  std::unique_ptr<ChunkedPass> pass;
  ChunkedPassOptions po;
  std::vector<int> acts;
  std::vector<std::unique_ptr<stats::TensorStats>> st;
  std::vector<bool> nonneg;
  double seconds1 = 0, seconds2 = 0;
  int second_pass_tensors = 0;
  std::vector<std::string> warnings;
  std::vector<std::vector<double>> means;  // channel means (bias correction)
  Impl(const Graph& graph, Dataset& data, const QuantizeOptions& options)
      : g(graph), calib(data), o(options) {}
};

FeatureMapCalibration::FeatureMapCalibration(const Graph& g, Dataset& calib,
                                             const quant::QuantPlan* weights,
                                             const QuantizeOptions& o)
    : impl_(std::make_unique<Impl>(g, calib, o)) {
  Impl& m = *impl_;
  const auto t0 = std::chrono::steady_clock::now();
  m.po.images = o.limit < 0 ? calib.size() : std::min(o.limit, calib.size());
  if (m.po.images < 1) throw Error(ErrorKind::InvalidData, "the calibration set holds no images");
  m.po.batch = o.batch;
  m.po.quiet = o.quiet;
  if (weights) {
    quant::QuantPlan weights_only = *weights;
    weights_only.float_activations = true;
    m.fq = resolve_plan(g, weights_only);
  }
  m.pass = std::make_unique<ChunkedPass>(g, weights ? &m.fq : nullptr, o.threads);
  m.st.resize(g.values.size());
  for (size_t v = 0; v < g.values.size(); ++v)
    if (!g.values[v].is_constant && (static_cast<int>(v) == g.input || g.values[v].producer >= 0)) {
      m.st[v] = std::make_unique<stats::TensorStats>();
      m.acts.push_back(static_cast<int>(v));
    }
  std::vector<bool> want_means(g.values.size(), false);
  if (o.bias_correction)
    for (const Node& n : g.nodes)
      if (ops::is_layer(n) && n.inputs.size() > 2)
        want_means[static_cast<size_t>(n.inputs[0])] = true;
  std::vector<std::vector<double>> sums(g.values.size());
  std::vector<int64_t> counts(g.values.size(), 0);
  m.pass->run(
      calib, m.po, [&] { return std::make_unique<StatsSink>(m.acts, g.values.size(), want_means); },
      [&](ChunkSink& s) {
        auto& part = static_cast<StatsSink&>(s);
        for (int v : m.acts) m.st[v]->merge(*part.st[v]);
        for (size_t v = 0; v < sums.size(); ++v) {
          if (part.counts[v] == 0) continue;
          sums[v].resize(part.sums[v].size(), 0.0);
          for (size_t c = 0; c < sums[v].size(); ++c) sums[v][c] += part.sums[v][c];
          counts[v] += part.counts[v];
        }
      });
  m.means.resize(g.values.size());
  for (size_t v = 0; v < sums.size(); ++v)
    if (counts[v] > 0) {
      const double per = static_cast<double>(counts[v]);
      for (double x : sums[v]) m.means[v].push_back(x / per);
    }
  for (int v : m.acts) {
    const stats::TensorStats& s = *m.st[v];
    if (s.nonfinite() == 0) continue;
    const std::string& name = g.values[v].name;
    if (static_cast<double>(s.nonfinite()) > 1e-6 * static_cast<double>(s.total() + s.nonfinite()))
      throw Error(ErrorKind::Numerical,
                  str_cat("tensor '", name, "': ", s.nonfinite(), " of ", s.total() + s.nonfinite(),
                          " calibration values are NaN or Inf (first in image ",
                          s.first_nonfinite_image(), "); the float model is broken"));
    m.warnings.push_back(
        str_cat("tensor '", name, "': ", s.nonfinite(), " NaN/Inf calibration values ignored"));
  }
  m.nonneg = nonnegative_values(g);
  m.seconds1 = seconds_since(t0);
}

FeatureMapCalibration::~FeatureMapCalibration() = default;

void FeatureMapCalibration::measure(std::vector<std::unique_ptr<quant::EmpiricalErrors>>& errors,
                                    const char* what) {
  Impl& m = *impl_;
  const auto t0 = std::chrono::steady_clock::now();
  ChunkedPassOptions po = m.po;
  po.what = what;
  m.pass->run(
      m.calib, po, [&] { return std::make_unique<ErrorsSink>(errors); },
      [&](ChunkSink& s) {
        auto& part = static_cast<ErrorsSink&>(s);
        for (int v : m.acts)
          if (errors[v]) errors[v]->merge(*part.emp[v]);
      });
  m.seconds2 += seconds_since(t0);
}

std::vector<FeatureMapCalibration::Choice> FeatureMapCalibration::choose(
    std::span<const Request> requests) {
  Impl& m = *impl_;
  const QuantizeOptions& o = m.o;
  const Graph& g = m.g;
  std::vector<Choice> out(requests.size());
  // Proposals by request and value id; the formats the second pass must measure, by value id
  // (the union over the requests, each once).
  std::vector<std::vector<quant::FmProposal>> prop(requests.size());
  std::vector<std::vector<quant::Format>> wanted(g.values.size());
  struct Histogram {
    int bins = 0;
    double max = 0;
    bool skip_zeros = false;
  };
  std::vector<Histogram> hist(g.values.size());
  std::vector<bool> propagate(g.values.size(), false);
  for (size_t r = 0; r < requests.size(); ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    const Request& q = requests[r];
    if (!quant::find_fm_method(q.method))
      throw Error(ErrorKind::InvalidOption,
                  str_cat("--method '", q.method, "': expected one of ", quant::fm_method_names()));
    quant::FmOptions fo;
    fo.method = q.method;
    fo.mode = o.mode;
    fo.alpha_free = o.alpha_free;
    fo.rounding = o.rounding;
    fo.percentile = o.percentile;
    fo.percentile_nonzero = o.percentile_nonzero;
    fo.aciq = o.aciq;
    fo.clip_below_t = o.clip_below_t;
    fo.threshold_lloyd = o.threshold_lloyd;
    fo.threshold_grid_bits = o.threshold_grid_bits;
    prop[r].resize(g.values.size());
    for (int v : m.acts) {
      const stats::TensorStats& s = *m.st[v];
      const std::string& name = g.values[v].name;
      auto bits_it = o.activation_bits_override.find(name);
      const int bits = bits_it != o.activation_bits_override.end() ? bits_it->second : q.abits;
      const bool is_signed =
          q.method == "ristretto" || o.signed_activations || !m.nonneg[v] || s.negative().count > 0;
      quant::FmProposal& p = prop[r][v];
      p = quant::propose_fm_format(s, bits, is_signed, fo);
      if (auto pin = o.activation_frac_override.find(name);
          pin != o.activation_frac_override.end()) {
        // Pinned: the one candidate still goes through the second pass for its SQNR.
        quant::FmProposal pinned;
        pinned.result.method = q.method;
        pinned.result.format = quant::make_format(bits, pin->second, is_signed);
        pinned.result.note = "frac pinned by the overrides file";
        pinned.candidates = {pin->second};
        pinned.needs_empirical = true;
        p = std::move(pinned);
      }
      if (!p.needs_empirical) continue;
      for (int f : p.candidates) {
        const quant::Format fmt = quant::make_format(bits, f, is_signed);
        if (std::find(wanted[v].begin(), wanted[v].end(), fmt) == wanted[v].end())
          wanted[v].push_back(fmt);
      }
      propagate[v] = propagate[v] || p.propagate;
      if (p.histogram_bins > 0) {
        Histogram& h = hist[v];
        GAMMAQ_CHECK(h.bins == 0 || (h.bins == p.histogram_bins && h.max == p.histogram_max &&
                                     h.skip_zeros == p.histogram_skip_zeros),
                     "tensor '", name, "': two methods ask for different histograms");
        h = {p.histogram_bins, p.histogram_max, p.histogram_skip_zeros};
      }
    }
    out[r].seconds += seconds_since(t0);
  }
  std::vector<std::unique_ptr<quant::EmpiricalErrors>> emp(g.values.size());
  for (int v : m.acts) {
    if (wanted[v].empty()) continue;
    emp[v] = std::make_unique<quant::EmpiricalErrors>(wanted[v], o.rounding);
    if (hist[v].bins > 0) emp[v]->enable_histogram(hist[v].bins, hist[v].max, hist[v].skip_zeros);
    if (propagate[v])
      if (auto make = next_layer_propagation(g, v)) emp[v]->enable_propagation(std::move(make));
    ++m.second_pass_tensors;
  }
  if (m.second_pass_tensors > 0) measure(emp, "calibrate (errors of candidate formats)");
  std::vector<std::vector<float>> samples(g.values.size());  // per tensor, taken on first use
  for (size_t r = 0; r < requests.size(); ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int v : m.acts) {
      quant::FmProposal& p = prop[r][v];
      if (p.needs_empirical) {
        std::vector<quant::Format> mine;
        for (int f : p.candidates)
          mine.push_back(quant::make_format(p.result.format.bits, f, p.result.format.is_signed));
        quant::decide_fm_format(p, emp[v]->select(mine), m.st[v]->energy());
      }
      const std::string& name = g.values[v].name;
      if (p.result.degenerate)
        out[r].warnings.push_back(str_cat("tensor '", name, "': ", p.result.note));
      std::vector<float>& sample = samples[static_cast<size_t>(v)];
      if (sample.empty()) sample = m.st[v]->sample();  // once per tensor, for every request
      p.result.fit["code_entropy_bits"] =
          quant::code_entropy_bits(*m.st[v], sample, p.result.format, o.rounding);
      out[r].proposed_frac[name] = p.result.format.frac;
      out[r].activations[name] = std::move(p.result);
    }
    out[r].seconds += seconds_since(t0);
  }
  return out;
}

const std::vector<int>& FeatureMapCalibration::values() const { return impl_->acts; }
const std::vector<double>& FeatureMapCalibration::channel_means(int value) const {
  return impl_->means.at(static_cast<size_t>(value));
}
const stats::TensorStats& FeatureMapCalibration::stats(int value) const {
  return *impl_->st.at(static_cast<size_t>(value));
}
int64_t FeatureMapCalibration::images() const { return impl_->po.images; }
double FeatureMapCalibration::seconds_pass1() const { return impl_->seconds1; }
double FeatureMapCalibration::seconds_pass2() const { return impl_->seconds2; }
int FeatureMapCalibration::second_pass_tensors() const { return impl_->second_pass_tensors; }
const std::vector<std::string>& FeatureMapCalibration::warnings() const { return impl_->warnings; }

namespace {

// Bias correction: bias_m -= sum (W_q - W)[m, c, ...] E[x_c] over the layer's input channels
// (each output's group for grouped convolutions; zero padding left out of E[x]).
void correct_biases(const Graph& g, const FeatureMapCalibration& cal, quant::QuantPlan& plan) {
  for (const Node& n : g.nodes) {
    if (!ops::is_layer(n) || n.inputs.size() < 3) continue;
    const std::vector<double>& mean = cal.channel_means(n.inputs[0]);
    if (mean.empty()) continue;
    quant::LayerFormat& l = plan.layers.at(n.name);
    const Tensor& w = g.values[n.inputs[1]].data;
    const int64_t outs = w.shape[0], per = w.numel() / outs;
    // ConvTranspose is left out: with strides each output reads a different subset of the taps,
    // so no one shift per channel is its mean error.
    if (n.op == OpType::ConvTranspose) continue;
    const bool conv = n.op == OpType::Conv;
    const int64_t in_per_group = conv ? w.shape[1] : per;
    const int64_t spatial = per / in_per_group;  // kernel positions (1 for Gemm)
    const int64_t groups = conv ? std::max<int64_t>(1, n.attrs.group) : 1;
    const int64_t out_per_group = outs / groups;
    if (static_cast<int64_t>(mean.size()) != in_per_group * groups) continue;  // not per channel
    l.bias_correction.assign(static_cast<size_t>(outs), 0.0);
    for (int64_t m = 0; m < outs; ++m) {
      quant::Format f = l.weight;
      if (!l.weight_channel_frac.empty()) f.frac = l.weight_channel_frac[static_cast<size_t>(m)];
      const int64_t first_in = conv ? (m / out_per_group) * in_per_group : 0;
      double shift = 0;
      for (int64_t k = 0; k < per; ++k) {
        const float v = w.data[static_cast<size_t>(m * per + k)];
        const double dq =
            std::ldexp(static_cast<double>(quant::weight_code(v, f, l, m, plan.rounding)),
                       -f.frac) -
            static_cast<double>(v);
        shift += dq * mean[static_cast<size_t>(first_in + k / spatial)];
      }
      l.bias_correction[static_cast<size_t>(m)] = -shift;
    }
  }
}

}  // namespace

void check_method_options(const QuantizeOptions& o) {
  if (!(o.percentile > 0.0 && o.percentile <= 100.0))
    throw Error(ErrorKind::InvalidOption,
                str_cat("--percentile ", o.percentile, ": must be in (0, 100]"));
  if (o.aciq != "laplace" && o.aciq != "gauss" && o.aciq != "mix")
    throw Error(ErrorKind::InvalidOption,
                str_cat("--aciq '", o.aciq, "': expected laplace, gauss or mix"));
  if (!o.wthreshold.empty() && o.wthreshold != "normal" && o.wthreshold != "empirical")
    throw Error(ErrorKind::InvalidOption,
                str_cat("--wthreshold '", o.wthreshold, "': expected normal or empirical"));
  if (!o.wthreshold.empty() && (o.wlevels > 0 || o.method == "ristretto"))
    throw Error(ErrorKind::InvalidOption,
                "--wthreshold replaces the weight rule: not with --wlevels or --method ristretto");
  if (o.threshold_grid_bits != 0 &&
      (o.threshold_grid_bits < quant::kMinBits || o.threshold_grid_bits > quant::kMaxBits))
    throw Error(ErrorKind::InvalidOption,
                str_cat("--threshold-grid-bits ", o.threshold_grid_bits, ": expected 2..16"));
}

QuantizeReport quantize_model(const Graph& g, Dataset& calib, const QuantizeOptions& o) {
  (void)quant::make_format(o.wbits, 0, true);  // validates 2..16
  (void)quant::make_format(o.abits, 0, true);
  if (o.bbits != "acc") {
    int b = 0;
    try {
      b = std::stoi(o.bbits);
    } catch (const std::exception&) {
      throw Error(ErrorKind::InvalidOption,
                  str_cat("--bbits '", o.bbits, "': expected acc or 2..16"));
    }
    (void)quant::make_format(b, 0, true);
  }
  if (!quant::find_fm_method(o.method))
    throw Error(ErrorKind::InvalidOption,
                str_cat("--method '", o.method, "': expected one of ", quant::fm_method_names()));
  check_method_options(o);
  if (o.batch < 1) throw Error(ErrorKind::InvalidOption, "--batch must be >= 1");
  if (o.wlevels < 0 || o.wlevels == 1)
    throw Error(ErrorKind::InvalidOption,
                str_cat("--wlevels ", o.wlevels, ": expected 0 (uniform) or >= 2 levels"));
  if (o.wlevels == 0 && (o.nuuq_zero || o.nuuq_sym || o.nuuq_lloyd))
    throw Error(ErrorKind::InvalidOption, "--nuuq-zero/--nuuq-sym/--nuuq-solver need --wlevels");
  if (o.wlevels > 0 && o.method == "ristretto")
    throw Error(ErrorKind::InvalidOption,
                "--wlevels: NUUQ replaces the weight rule; --method ristretto has its own (eq. 8)");
  const int64_t images = o.limit < 0 ? calib.size() : std::min(o.limit, calib.size());
  if (images < 1) throw Error(ErrorKind::InvalidData, "the calibration set holds no images");

  QuantizeReport rep;
  quant::QuantPlan& plan = rep.plan;
  plan.model = g.name;
  plan.model_sha256 = o.model_sha256;
  plan.input_shape = o.import.input_shape;
  plan.outputs = o.import.outputs;
  plan.rounding = o.rounding;
  plan.wbits = o.wbits;
  plan.abits = o.abits;
  plan.bbits = o.bbits;
  plan.method = o.method;
  plan.mode = std::string(quant::fm_mode_name(o.mode));
  plan.granularity = o.per_channel ? "channel" : "layer";
  plan.float_activations = o.float_activations;
  plan.calib_weights = o.calib_float_weights ? "float" : "quantized";

  if (o.tune != "none" && o.tune != "w" && o.tune != "a" && o.tune != "wa")
    throw Error(ErrorKind::InvalidOption,
                str_cat("--tune '", o.tune, "': expected none, w, a or wa"));
  const bool tune_w = o.tune.find('w') != std::string::npos;
  const bool tune_a = o.tune.find('a') != std::string::npos;
  if ((tune_w || tune_a) && o.val == nullptr)
    throw Error(ErrorKind::InvalidOption, "--tune needs --val (tuning images, never the test set)");
  if (tune_a && o.float_activations)
    throw Error(ErrorKind::InvalidOption,
                "--tune a/wa tunes feature maps; they are float with --float-activations");

  auto t0 = std::chrono::steady_clock::now();
  for (const Node& n : g.nodes)
    if (ops::is_layer(n))
      plan.layers[n.name] =
          o.weights_from ? o.weights_from->layers.at(n.name) : choose_layer(g, n, o);
  rep.calibration_images = images;
  rep.seconds_choose = seconds_since(t0);
  if (tune_w) {  // W-BFT runs with float feature maps (WQ+), before they are chosen
    const auto tt = std::chrono::steady_clock::now();
    quant::QuantPlan wplan = plan;
    wplan.float_activations = true;
    rep.tuning.push_back(tune_plan(g, wplan, *o.val, true, o.tune_options));
    for (const Node& n : g.nodes) {
      if (!ops::is_layer(n)) continue;
      quant::LayerFormat& l = plan.layers[n.name];
      const quant::LayerFormat& tuned = wplan.layers.at(n.name);
      if (tuned.weight.frac == l.weight.frac) continue;
      l.weight = tuned.weight;
      l.weight_channel_frac = tuned.weight_channel_frac;
      l.weight_sqnr_db = layer_weight_sqnr(g.values[n.inputs[1]].data, l, o.rounding);
    }
    rep.seconds_tune += seconds_since(tt);
  }
  if (o.float_activations) return rep;

  // Pass 1: quantized weights (unless --calib-weights float), float feature maps
  // (ALGORITHMS.md 6.2 default); then the choice, with a second pass where it needs one.
  // With bias correction, a first pass measures the layers' input means, and the feature-map
  // statistics come from the corrected network (the correction moves every later tensor).
  if (o.bias_correction) {
    const FeatureMapCalibration means(g, calib, o.calib_float_weights ? nullptr : &plan, o);
    correct_biases(g, means, plan);
    rep.seconds_calibrate += means.seconds_pass1();
  }
  QuantizeOptions stats_options = o;
  stats_options.bias_correction = false;
  FeatureMapCalibration cal(g, calib, o.calib_float_weights ? nullptr : &plan, stats_options);
  rep.seconds_calibrate += cal.seconds_pass1();
  rep.warnings = cal.warnings();
  const FeatureMapCalibration::Request request{o.method, o.abits};
  FeatureMapCalibration::Choice chosen = std::move(cal.choose({&request, 1})[0]);
  plan.activations = std::move(chosen.activations);
  rep.warnings.insert(rep.warnings.end(), chosen.warnings.begin(), chosen.warnings.end());
  rep.second_pass_tensors = cal.second_pass_tensors();
  rep.seconds_choose += chosen.seconds + cal.seconds_pass2();
  if (!tune_a) return rep;

  // FM-BFT, then the local SQNR of every tensor it moved, measured like the others.
  const auto tt = std::chrono::steady_clock::now();
  rep.tuning.push_back(tune_plan(g, plan, *o.val, false, o.tune_options));
  std::vector<std::unique_ptr<quant::EmpiricalErrors>> moved(g.values.size());
  bool any = false;
  for (int v : cal.values()) {
    quant::ActivationFormat& a = plan.activations.at(g.values[v].name);
    const int proposed = chosen.proposed_frac.at(g.values[v].name);
    if (a.format.frac == proposed) continue;
    a.note = str_cat(a.note.empty() ? "" : a.note + "; ", "moved by FM-BFT from frac ", proposed);
    moved[v] =
        std::make_unique<quant::EmpiricalErrors>(std::vector<quant::Format>{a.format}, o.rounding);
    any = true;
  }
  if (any) {
    cal.measure(moved, "calibrate (SQNR of tuned formats)");
    for (int v : cal.values())
      if (moved[v])
        plan.activations.at(g.values[v].name).sqnr_db =
            quant::sqnr_db(cal.stats(v).energy(), moved[v]->sq_errors()[0]);
  }
  rep.seconds_tune += seconds_since(tt);
  return rep;
}

void read_overrides(const std::string& path, QuantizeOptions& o) {
  std::ifstream f(path);
  if (!f) throw Error(ErrorKind::Io, str_cat(path, ": cannot open"));
  std::stringstream ss;
  ss << f.rdbuf();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(ss.str());
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::InvalidOption, str_cat(path, ": not valid JSON (", e.what(), ")"));
  }
  auto bits_of = [&](const nlohmann::json& v, const char* key, const std::string& name) {
    if (!v.is_object() || !v.contains(key) || !v.at(key).is_number_integer())
      throw Error(ErrorKind::InvalidOption,
                  str_cat(path, ": '", name, "' needs {\"", key, "\": integer}"));
    for (const auto& [field, value] : v.items())
      if (field != "wbits" && field != "abits" && field != "frac")
        throw Error(ErrorKind::InvalidOption,
                    str_cat(path, ": '", name, "': unknown field '", field, "'"));
    const int b = v.at(key).get<int>();
    try {
      (void)quant::make_format(b, 0, true);
    } catch (const Error& e) {
      throw with_context(e, str_cat(path, ": '", name, "'"));
    }
    return b;
  };
  if (!j.is_object())
    throw Error(ErrorKind::InvalidOption,
                str_cat(path, ": expected {\"layers\": {...}, \"tensors\": {...}}"));
  for (const auto& [k, v] : j.items()) {
    if (k == "layers") {
      for (const auto& [name, spec] : v.items())
        o.weight_bits_override[name] = bits_of(spec, "wbits", name);
    } else if (k == "tensors") {
      for (const auto& [name, spec] : v.items()) {
        if (spec.is_object() && spec.contains("frac")) {
          const auto& fr = spec.at("frac");
          if (!fr.is_number_integer() || std::abs(fr.get<int64_t>()) > 64)
            throw Error(ErrorKind::InvalidOption,
                        str_cat(path, ": '", name, "': frac must be an integer in -64..64"));
          o.activation_frac_override[name] = fr.get<int>();
          for (const auto& [field, value] : spec.items())
            if (field != "abits" && field != "frac")
              throw Error(ErrorKind::InvalidOption,
                          str_cat(path, ": '", name, "': unknown field '", field, "'"));
          if (!spec.contains("abits")) continue;
        }
        o.activation_bits_override[name] = bits_of(spec, "abits", name);
      }
    } else {
      throw Error(ErrorKind::InvalidOption,
                  str_cat(path, ": unknown key '", k, "' (layers, tensors)"));
    }
  }
}

}  // namespace gammaq
