// The integer engine: equal, logit for logit, to the fixed-point simulation on a zoo model
// (which has Conv, LRN, MaxPool, Concat, AveragePool and Gemm); its accumulator widths; the
// kernels against the float reference; and the operators and plans it refuses.
#include "engine/integer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "gammaq/dataset.h"
#include "gammaq/error.h"
#include "gammaq/executor.h"
#include "ir/passes.h"
#include "kernels/integer/int8_conv.h"
#include "onnx/import.h"
#include "pipeline/quantize.h"
#include "support/onnx_builder.h"

namespace gammaq {
namespace {

struct Zoo {
  Graph g;
  Tensor images;
  std::unique_ptr<Dataset> calib;
  Zoo() {
    g = import_onnx_file(std::string(GAMMAQ_SOURCE_DIR) + "/models/googlenet.onnx");
    (void)optimize(g);
    const Preprocess pre = parse_preprocess_json(g.metadata.at("gammaq.preprocess"));
    images = open_dataset("fashion-mnist:test[0:16]", pre)->read(0, 16).images;
    calib = open_dataset("fashion-mnist:train[0:64]", pre);
  }
  quant::QuantPlan plan(int bits, int wlevels = 0, bool per_channel = false,
                        const std::string& method = "ggd",
                        const std::string& wthreshold = "") const {
    QuantizeOptions o;
    o.wbits = o.abits = bits;
    o.wlevels = wlevels;
    o.per_channel = per_channel;
    o.method = method;
    o.wthreshold = wthreshold;
    o.threads = 1;
    o.quiet = true;
    return quantize_model(g, *calib, o).plan;
  }
};

Zoo& zoo() {
  static Zoo z;
  return z;
}

Tensor run_integer_engine(const Graph& g, const IntegerProgram& p, const Tensor& images) {
  ExecutorOptions eo;
  eo.threads = 1;
  eo.integer = &p;
  Executor ex(g, eo);
  return ex.run(images);
}

Tensor run_simulation(const Graph& g, const quant::QuantPlan& plan, KernelImpl impl,
                      const Tensor& images) {
  const FakeQuant fq = resolve_plan(g, plan);
  Executor ex(g, {impl, 1, &fq});
  return ex.run(images);
}

TEST(IntegerEngine, EqualsTheSimulationOnGoogLeNet) {
  Zoo& z = zoo();
  for (int bits : {4, 6, 8}) {
    SCOPED_TRACE(str_cat(bits, " bits"));
    const quant::QuantPlan plan = z.plan(bits);
    const IntegerProgram p(z.g, plan);
    const Tensor got = run_integer_engine(z.g, p, z.images);
    EXPECT_EQ(got.data, run_simulation(z.g, plan, KernelImpl::Reference, z.images).data);
    EXPECT_EQ(got.data, run_simulation(z.g, plan, KernelImpl::Fast, z.images).data);
    // The logits are codes of the output format.
    const quant::Format& f = p.format(z.g.output);
    for (float v : got.data) {
      const double code = std::ldexp(static_cast<double>(v), f.frac);
      ASSERT_EQ(code, std::nearbyint(code));
      ASSERT_GE(code, f.qmin());
      ASSERT_LE(code, f.qmax());
    }
  }
}

// NUUQ weights (table decode of codebook indices) stay bit-exact, per layer and per channel,
// and the weights take no more distinct values than the codebooks allow.
TEST(IntegerEngine, NuuqWeightsEqualTheSimulation) {
  Zoo& z = zoo();
  for (const auto& [q, per_channel] : {std::pair{3, false}, std::pair{4, true}}) {
    SCOPED_TRACE(str_cat(q, per_channel ? " levels per channel" : " levels per layer"));
    const quant::QuantPlan plan = z.plan(8, q, per_channel);
    const IntegerProgram p(z.g, plan);
    for (size_t i = 0; i < z.g.nodes.size(); ++i) {
      const Node& n = z.g.nodes[i];
      if (n.op != OpType::Conv && n.op != OpType::Gemm) continue;
      const quant::LayerFormat& l = plan.layers.at(n.name);
      ASSERT_EQ(l.weight_codebooks.size(), per_channel ? p.node(i).codes.weight_frac.size() : 1u);
      const size_t per = p.node(i).codes.weight.size() / l.weight_codebooks.size();
      for (size_t b = 0; b < l.weight_codebooks.size(); ++b) {
        const std::vector<int32_t>& lv = l.weight_codebooks[b].levels;
        ASSERT_LE(lv.size(), static_cast<size_t>(q));
        for (size_t k = b * per; k < (b + 1) * per; ++k)
          ASSERT_TRUE(std::binary_search(lv.begin(), lv.end(), p.node(i).codes.weight[k]))
              << n.name << " weight " << k;
      }
    }
    const Tensor got = run_integer_engine(z.g, p, z.images);
    EXPECT_EQ(got.data, run_simulation(z.g, plan, KernelImpl::Reference, z.images).data);
    EXPECT_EQ(got.data, run_simulation(z.g, plan, KernelImpl::Fast, z.images).data);
  }
}

// Threshold quantizers (ALGORITHMS.md 9.3): feature maps whose codes come from comparators on
// the accumulator (and on pooled, concatenated and LRN values), and threshold-codebook
// weights, bit-exact with the simulation; every code is one of its table's levels.
TEST(IntegerEngine, ThresholdQuantizersEqualTheSimulation) {
  Zoo& z = zoo();
  struct Case {
    int bits;
    const char* method;
    const char* wthreshold;
    bool per_channel;
  };
  for (const Case& c : {Case{4, "threshold", "", false}, Case{3, "threshold-emp", "normal", true},
                        Case{6, "threshold", "empirical", false}}) {
    SCOPED_TRACE(str_cat(c.bits, " bits ", c.method, " weights '", c.wthreshold, "'"));
    const quant::QuantPlan plan = z.plan(c.bits, 0, c.per_channel, c.method, c.wthreshold);
    int tables = 0;
    for (const auto& [name, a] : plan.activations) tables += a.format.table != nullptr;
    ASSERT_GT(tables, 10);
    const IntegerProgram p(z.g, plan);
    ExecutorOptions eo;
    eo.threads = 1;
    eo.integer = &p;
    Executor ex(z.g, eo);
    const Tensor got = ex.run(z.images);
    int checked = 0;
    for (size_t v = 0; v < z.g.values.size(); ++v) {
      if (z.g.values[v].is_constant) continue;
      const quant::Format& f = p.format(static_cast<int>(v));
      if (!f.table) continue;
      const std::vector<int32_t>& lv = f.table->levels;
      for (int32_t code : ex.codes(static_cast<int>(v)))
        ASSERT_TRUE(std::find(lv.begin(), lv.end(), code) != lv.end())
            << z.g.values[v].name << " code " << code;
      ++checked;
    }
    EXPECT_GT(checked, 10);
    EXPECT_EQ(got.data, run_simulation(z.g, plan, KernelImpl::Reference, z.images).data);
    EXPECT_EQ(got.data, run_simulation(z.g, plan, KernelImpl::Fast, z.images).data);
  }
}

TEST(IntegerEngine, AccumulatorWidthIsProven) {
  Zoo& z = zoo();
  const IntegerProgram p4(z.g, z.plan(4)), p16(z.g, z.plan(16));
  bool any_wide16 = false;
  for (size_t i = 0; i < z.g.nodes.size(); ++i) {
    if (z.g.nodes[i].op != OpType::Conv && z.g.nodes[i].op != OpType::Gemm) continue;
    EXPECT_FALSE(p4.node(i).wide) << z.g.nodes[i].name;
    EXPECT_LE(p4.node(i).accumulator_bits, 32) << z.g.nodes[i].name;
    EXPECT_EQ(p16.node(i).wide, p16.node(i).accumulator_bits > 32) << z.g.nodes[i].name;
    any_wide16 |= p16.node(i).wide;
  }
  EXPECT_TRUE(any_wide16) << "16-bit operands need int64 somewhere";
}

// A convolution of random codes (ties included through small shifts) against the float
// reference kernel on the dequantized values, rounded once in double.
TEST(IntegerKernels, ConvEqualsExactlyRoundedFloatReference) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int32_t> code(-8, 7);
  kernels::WindowGeom g;
  g.n = 2, g.c = 3, g.h = g.w = 5, g.m = 4, g.oh = g.ow = 5, g.kh = g.kw = 3, g.pt = g.pl = 1,
  g.pb = g.pr = 1;
  std::vector<int32_t> x(static_cast<size_t>(g.n * g.c * g.h * g.w)), w(4 * 3 * 9);
  for (auto& v : x) v = code(rng);
  for (auto& v : w) v = code(rng);
  std::vector<int64_t> bias = {3, -5, 0, 17};
  for (quant::Rounding r :
       {quant::Rounding::HalfEven, quant::Rounding::HalfAway, quant::Rounding::HalfUp}) {
    for (int shift : {-1, 0, 1, 3}) {
      quant::Format out;
      out.bits = 6;
      out.frac = 0;
      Attributes relu;
      relu.activation = Activation::Relu;
      const kernels::OutputStage st = kernels::output_stage(out, r, relu, {shift});
      std::vector<int32_t> y(static_cast<size_t>(g.n * g.m * g.oh * g.ow));
      kernels::conv2d_int_ref(g, x.data(), w.data(), bias.data(), st, false, y.data());
      // Float reference on the same values: x, w as is, bias and output in units of 2^-shift.
      std::vector<float> xf(x.begin(), x.end()), wf(w.begin(), w.end()), bf, yf(y.size());
      for (int64_t b : bias) bf.push_back(static_cast<float>(b));
      kernels::conv2d_f32_ref(g, xf.data(), wf.data(), bf.data(), yf.data(), relu);
      for (size_t i = 0; i < y.size(); ++i) {
        const double v = std::ldexp(static_cast<double>(yf[i]), -shift);
        ASSERT_EQ(y[i], quant::quantize_code(v, out, r)) << i << " shift " << shift;
      }
    }
  }
}

// A random convolution geometry: groups, strides, dilations, asymmetric padding.
kernels::WindowGeom random_geom(std::mt19937& rng, int max_channels) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (;;) {
    kernels::WindowGeom g;
    g.group = pick(1, 3);
    g.c = g.group * pick(1, max_channels);
    g.m = g.group * pick(1, max_channels);
    g.n = pick(1, 2);
    g.h = pick(3, 9);
    g.w = pick(3, 9);
    g.kh = pick(1, 3);
    g.kw = pick(1, 3);
    g.sh = pick(1, 2);
    g.sw = pick(1, 2);
    g.dh = pick(1, 2);
    g.dw = pick(1, 2);
    g.pt = pick(0, 2), g.pl = pick(0, 2), g.pb = pick(0, 2), g.pr = pick(0, 2);
    g.oh = (g.h + g.pt + g.pb - (g.dh * (g.kh - 1) + 1)) / g.sh + 1;
    g.ow = (g.w + g.pl + g.pr - (g.dw * (g.kw - 1) + 1)) / g.sw + 1;
    if (g.oh >= 1 && g.ow >= 1) return g;
  }
}

// The im2col kernel against the reference loops: int32 and int64 accumulation, per-channel
// shifts.
TEST(IntegerKernels, FastConvEqualsReference) {
  std::mt19937 rng(11);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int trial = 0; trial < 60; ++trial) {
    const kernels::WindowGeom g = random_geom(rng, 3);
    const bool wide = trial % 2 == 1;
    const int32_t big = wide ? 30000 : 100;
    std::uniform_int_distribution<int32_t> code(-big, big);
    std::vector<int32_t> x(static_cast<size_t>(g.n * g.c * g.h * g.w)),
        w(static_cast<size_t>(g.m * (g.c / g.group) * g.kh * g.kw));
    for (auto& v : x) v = code(rng);
    for (auto& v : w) v = trial % 3 == 0 && code(rng) % 4 == 0 ? 0 : code(rng);
    std::vector<int64_t> bias(static_cast<size_t>(g.m));
    for (auto& b : bias) b = code(rng);
    quant::Format out;
    out.bits = 16;
    std::vector<int> shift;
    for (int64_t m = 0; m < g.m; ++m) shift.push_back(pick(0, 12));
    const kernels::OutputStage st =
        kernels::output_stage(out, quant::Rounding::HalfEven, Attributes{}, shift);
    std::vector<int32_t> want(static_cast<size_t>(g.n * g.m * g.oh * g.ow)), got(want.size());
    kernels::conv2d_int_ref(g, x.data(), w.data(), bias.data(), st, wide, want.data());
    kernels::conv2d_int(g, x.data(), w.data(), bias.data(), st, wide, got.data());
    ASSERT_EQ(got, want) << "trial " << trial;
  }
}

// The int8 kernels against the reference loops, including the operands that saturate x86's
// non-VNNI int8 multiply (255 x 127 pairs: the weights are split there), signed and unsigned
// sources of 4..8 bits, every rounding rule, shifts of both signs, fused ReLU bounds.
TEST(IntegerKernels, Int8ConvEqualsReference) {
  std::mt19937 rng(12);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  const quant::Rounding roundings[] = {quant::Rounding::HalfEven, quant::Rounding::HalfAway,
                                       quant::Rounding::HalfUp};
  for (int trial = 0; trial < 60; ++trial) {
    const kernels::WindowGeom g = random_geom(rng, 24);
    const quant::Format in = quant::make_format(pick(4, 8), 0, trial % 2 == 0);
    const int wbits = pick(4, 8);
    const bool extreme = trial % 3 == 0;  // every code at the end of its range
    std::vector<int32_t> x(static_cast<size_t>(g.n * g.c * g.h * g.w)),
        w(static_cast<size_t>(g.m * (g.c / g.group) * g.kh * g.kw));
    for (auto& v : x)
      v = extreme ? static_cast<int32_t>(in.qmax())
                  : pick(static_cast<int>(in.qmin()), static_cast<int>(in.qmax()));
    for (auto& v : w)
      v = extreme ? (pick(0, 1) ? 127 : -128) : pick(-(1 << (wbits - 1)), (1 << (wbits - 1)) - 1);
    std::vector<int64_t> bias(static_cast<size_t>(g.m));
    for (auto& b : bias) b = pick(-100000, 100000);
    quant::Format out = quant::make_format(8, 0, trial % 4 != 1);
    std::vector<int> shift;
    for (int64_t m = 0; m < g.m; ++m) shift.push_back(pick(-2, 14));
    Attributes act;
    if (trial % 5 == 0) act.activation = Activation::Relu;
    const kernels::OutputStage st = kernels::output_stage(out, roundings[trial % 3], act, shift);
    std::vector<int32_t> want(static_cast<size_t>(g.n * g.m * g.oh * g.ow)), got(want.size());
    kernels::conv2d_int_ref(g, x.data(), w.data(), bias.data(), st, false, want.data());
    const auto conv = kernels::Int8Conv::make(g, in, w.data(), bias.data());
    ASSERT_TRUE(conv) << "trial " << trial;  // accumulators here stay below 2^24
    conv->run(x.data(), st, got.data());
    ASSERT_EQ(got, want) << "trial " << trial << " " << conv->description();
  }
  // 512 channels x 3x3 taps of 127 against 255: accumulators up to 1.5e8, beyond float's 2^24
  // through which oneDNN passes them -- refused; a tenth of the weights is accepted.
  kernels::WindowGeom g;
  g.c = 512, g.h = g.w = g.oh = g.ow = 3, g.kh = g.kw = 3, g.pt = g.pl = g.pb = g.pr = 1;
  std::vector<int32_t> w(static_cast<size_t>(g.c * 9), 127);
  const quant::Format u8 = quant::make_format(8, 0, false);
  EXPECT_FALSE(kernels::Int8Conv::make(g, u8, w.data(), nullptr));
  for (size_t k = 0; k < w.size(); ++k) w[k] = k % 10 == 0 ? 127 : 0;
  EXPECT_TRUE(kernels::Int8Conv::make(g, u8, w.data(), nullptr));
}

// The fast max pooling, Concat and the LRN table against the reference loops: random windows
// (padding, dilation, strides), shifts of both signs; LRN over 8-bit codes of both signs.
TEST(IntegerKernels, FastPoolingAndLrnEqualReference) {
  std::mt19937 rng(13);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int trial = 0; trial < 60; ++trial) {
    kernels::WindowGeom g = random_geom(rng, 4);
    g.c = g.m;  // pooling keeps the channels
    std::vector<int32_t> x(static_cast<size_t>(g.n * g.c * g.h * g.w));
    for (auto& v : x) v = pick(-300, 300);
    const quant::Format out = quant::make_format(8, 0, trial % 2 == 0);
    const kernels::OutputStage st = kernels::output_stage(
        out, quant::Rounding::HalfEven, Attributes{}, std::vector<int>{pick(-1, 2)});
    std::vector<int32_t> want(static_cast<size_t>(g.n * g.c * g.oh * g.ow)), got(want.size());
    kernels::maxpool2d_int_ref(g, x.data(), st, want.data());
    kernels::maxpool2d_int(g, x.data(), st, got.data());
    ASSERT_EQ(got, want) << "maxpool trial " << trial;
  }
  // Concat along channels of three inputs, one with a shift (finer input) and one identity.
  const std::vector<Shape> xs = {{2, 3, 4, 5}, {2, 1, 4, 5}, {2, 2, 4, 5}};
  const Shape ys = {2, 6, 4, 5};
  std::vector<std::vector<int32_t>> parts;
  std::vector<const int32_t*> ptrs;
  std::vector<kernels::OutputStage> stages;
  for (size_t t = 0; t < xs.size(); ++t) {
    parts.emplace_back(static_cast<size_t>(shape_numel(xs[t])));
    for (auto& v : parts.back()) v = pick(-200, 200);
    ptrs.push_back(parts.back().data());
    stages.push_back(kernels::output_stage(quant::make_format(8, 0, t != 2),
                                           quant::Rounding::HalfEven, Attributes{},
                                           std::vector<int>{t == 1 ? 2 : 0}));
  }
  std::vector<int32_t> cat_want(static_cast<size_t>(shape_numel(ys))), cat_got(cat_want.size());
  kernels::concat_int_ref(1, xs, ptrs, stages, ys, cat_want.data());
  kernels::concat_int(1, xs, ptrs, stages, ys, cat_got.data());
  EXPECT_EQ(cat_got, cat_want);

  Attributes a;
  a.size = 5, a.alpha = 1e-3f, a.beta = 0.75f, a.bias = 1.0f;
  const quant::Format in = quant::make_format(8, 4, true);
  const int64_t n = 2, c = 7, hw = 9;
  std::vector<int32_t> x(static_cast<size_t>(n * c * hw));
  for (auto& v : x) v = pick(-128, 127);
  const kernels::OutputStage st = kernels::output_stage(
      in, quant::Rounding::HalfEven, Attributes{}, std::vector<int>{kernels::kLrnMultiplierBits});
  const kernels::LrnTable table(a, in.frac, 128);
  ASSERT_EQ(table.multiplier.size(), static_cast<size_t>(5 * 128 * 128 + 1));
  std::vector<int32_t> want(x.size()), got(x.size());
  kernels::lrn_int_ref(n, c, hw, a, in.frac, x.data(), st, want.data());
  kernels::lrn_int(n, c, hw, a, in.frac, table, x.data(), st, got.data());
  EXPECT_EQ(got, want);
  // 16-bit inputs would need 5 * 2^30 entries: no table, the reference computes.
  EXPECT_TRUE(kernels::LrnTable(a, in.frac, 32768).multiplier.empty());
}

TEST(IntegerEngine, RefusesWhatHasNoIntegerForm) {
  Zoo& z = zoo();
  quant::QuantPlan fl = z.plan(8);
  fl.float_activations = true;
  try {
    const IntegerProgram p(z.g, fl);
    FAIL() << "float feature maps must be refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidData);
  }
  // Softmax at the end of a tiny network: refused, naming the node.
  test::OnnxBuilder b(13);
  b.input("x", {1, 4, 4}).output("p");
  b.initializer("w", {2, 1, 3, 3}, test::random_values(18, 1));
  b.node("Conv", {"x", "w"}, {"c"}, "conv");
  b.node("Flatten", {"c"}, {"f"}, "flatten");
  test::attr_int(b.node("Softmax", {"f"}, {"p"}, "softmax"), "axis", 1);
  Graph g = import_onnx_bytes(b.bytes(), "tiny");
  (void)optimize(g);
  std::vector<float> pixels = test::random_values(16 * 8, 2);
  struct Mem final : Dataset {
    Tensor t;
    int64_t size() const override { return t.shape[0]; }
    bool has_labels() const override { return false; }
    Shape image_shape() const override { return {1, 4, 4}; }
    Batch read(int64_t begin, int64_t count) override {
      Batch bt;
      bt.images = Tensor({count, 1, 4, 4});
      std::copy_n(t.data.begin() + begin * 16, count * 16, bt.images.data.begin());
      return bt;
    }
  } data;
  data.t = Tensor({8, 1, 4, 4});
  data.t.data = pixels;
  QuantizeOptions o;
  o.quiet = true;
  const quant::QuantPlan plan = quantize_model(g, data, o).plan;
  try {
    const IntegerProgram p(g, plan);
    FAIL() << "Softmax must be refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::UnsupportedOp);
    EXPECT_NE(std::string(e.what()).find("softmax"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace gammaq
