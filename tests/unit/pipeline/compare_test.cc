// compare_methods: one calibration pass and one second pass serve every method and width, and
// each row is exactly the plan quantize makes alone from the same statistics.
#include "pipeline/compare.h"

#include <gtest/gtest.h>

#include <cmath>

#include "engine/fake_quant.h"
#include "gammaq/dataset.h"
#include "gammaq/error.h"
#include "gammaq/executor.h"
#include "ir/passes.h"
#include "onnx/import.h"
#include "quant/methods/method.h"

namespace gammaq {
namespace {

struct Zoo {
  Graph g;
  std::unique_ptr<Dataset> calib;
  explicit Zoo(const std::string& name) {
    g = import_onnx_file(std::string(GAMMAQ_SOURCE_DIR) + "/models/" + name + ".onnx");
    (void)optimize(g);
    calib = open_dataset("fashion-mnist:train[0:24]",
                         parse_preprocess_json(g.metadata.at("gammaq.preprocess")));
  }
};

QuantizeOptions base_options() {
  QuantizeOptions o;
  o.threads = 1;
  o.quiet = true;
  o.batch = 8;
  return o;
}

// Same formats for every tensor, and the same measured SQNR.
void expect_same_plan(const quant::QuantPlan& a, const quant::QuantPlan& b) {
  ASSERT_EQ(a.activations.size(), b.activations.size());
  for (const auto& [name, fa] : a.activations) {
    SCOPED_TRACE(name);
    const quant::ActivationFormat& fb = b.activations.at(name);
    EXPECT_EQ(fa.format, fb.format);
    EXPECT_EQ(fa.method, fb.method);
    if (std::isfinite(fa.sqnr_db) || std::isfinite(fb.sqnr_db)) {
      EXPECT_DOUBLE_EQ(fa.sqnr_db, fb.sqnr_db);
    }
  }
  ASSERT_EQ(a.layers.size(), b.layers.size());
  for (const auto& [name, la] : a.layers) {
    EXPECT_EQ(la.weight, b.layers.at(name).weight) << name;
    EXPECT_EQ(la.weight_channel_frac, b.layers.at(name).weight_channel_frac) << name;
  }
  EXPECT_EQ(a.calib_weights, b.calib_weights);
}

TEST(Compare, EveryRowIsTheQuantizePlanFromFloatWeightStatistics) {
  Zoo z("resnet");
  CompareOptions c;
  for (const quant::FmMethod& m : quant::fm_methods()) c.methods.emplace_back(m.name);
  c.bits = {4, 8};
  const CompareReport rep = compare_methods(z.g, *z.calib, base_options(), c);
  EXPECT_EQ(rep.passes, 2);  // pass 1 and one second pass for all 14 rows
  ASSERT_EQ(rep.rows.size(), c.methods.size() * 2);
  for (size_t i = 0; i < rep.rows.size(); ++i) {
    const CompareRow& r = rep.rows[i];
    SCOPED_TRACE(r.method + " " + std::to_string(r.bits));
    EXPECT_EQ(r.bits, c.bits[i / c.methods.size()]);
    EXPECT_EQ(r.method, c.methods[i % c.methods.size()]);
    QuantizeOptions o = base_options();
    o.method = r.method;
    o.wbits = o.abits = r.bits;
    o.calib_float_weights = true;
    quant::QuantPlan alone = quantize_model(z.g, *z.calib, o).plan;
    if (r.method == "ristretto") {  // compare keeps Algorithm 1's weights in every row
      o.method = "ggd";
      o.float_activations = true;
      alone.layers = quantize_model(z.g, *z.calib, o).plan.layers;
    }
    expect_same_plan(r.plan, alone);
  }
}

TEST(Compare, PerWidthStatisticsAreQuantizesDefault) {
  Zoo z("resnet");
  CompareOptions c;
  c.methods = {"ggd", "kl", "mse"};
  c.bits = {6, 8};
  c.stats_per_width = true;
  const CompareReport rep = compare_methods(z.g, *z.calib, base_options(), c);
  EXPECT_EQ(rep.passes, 4);  // pass 1 and pass 2 per width
  ASSERT_EQ(rep.rows.size(), 6u);
  for (const CompareRow& r : rep.rows) {
    SCOPED_TRACE(r.method + " " + std::to_string(r.bits));
    QuantizeOptions o = base_options();
    o.method = r.method;
    o.wbits = o.abits = r.bits;
    expect_same_plan(r.plan, quantize_model(z.g, *z.calib, o).plan);
  }
}

TEST(Compare, RefusesUnknownMethodsAndWidthsBeforeAnyPass) {
  Zoo z("resnet");
  CompareOptions c;
  c.methods = {"ggd", "entropy"};
  c.bits = {8};
  try {
    (void)compare_methods(z.g, *z.calib, base_options(), c);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidOption);
    EXPECT_NE(std::string(e.what()).find("entropy"), std::string::npos);
  }
  c.methods = {"ggd"};
  c.bits = {8, 17};
  EXPECT_THROW((void)compare_methods(z.g, *z.calib, base_options(), c), Error);
  c.bits = {};
  EXPECT_THROW((void)compare_methods(z.g, *z.calib, base_options(), c), Error);
}

// Bias correction: the first layer's correction is minus its weight error times the mean of
// its input (the images) per channel, and the corrected plan's logits are on average closer
// to the float logits than the uncorrected plan's.
TEST(BiasCorrection, CancelsTheMeanShiftOfQuantizedWeights) {
  Zoo z("resnet");
  QuantizeOptions o = base_options();
  o.wbits = 3;
  o.abits = 8;
  o.per_channel = true;
  const quant::QuantPlan plain = quantize_model(z.g, *z.calib, o).plan;
  o.bias_correction = true;
  const quant::QuantPlan corrected = quantize_model(z.g, *z.calib, o).plan;

  const Node* first = nullptr;
  for (const Node& n : z.g.nodes)
    if (n.op == OpType::Conv && n.inputs[0] == z.g.input) first = &n;
  ASSERT_NE(first, nullptr);
  const quant::LayerFormat& l = corrected.layers.at(first->name);
  const Tensor& w = z.g.values[first->inputs[1]].data;
  ASSERT_EQ(w.shape[1], 1);  // one input channel: E[x] is the images' mean
  const Batch all = z.calib->read(0, z.calib->size());
  double mean = 0;
  for (float v : all.images.data) mean += v;
  mean /= static_cast<double>(all.images.data.size());
  const int64_t per = w.numel() / w.shape[0];
  ASSERT_EQ(static_cast<int64_t>(l.bias_correction.size()), w.shape[0]);
  for (int64_t m = 0; m < w.shape[0]; ++m) {
    quant::Format f = l.weight;
    f.frac = l.weight_channel_frac[static_cast<size_t>(m)];
    double shift = 0;
    for (int64_t k = m * per; k < (m + 1) * per; ++k)
      shift += (quant::fake_quant(w.data[static_cast<size_t>(k)], f, corrected.rounding) -
                w.data[static_cast<size_t>(k)]) *
               mean;
    EXPECT_NEAR(l.bias_correction[static_cast<size_t>(m)], -shift, 1e-9) << m;
  }
  EXPECT_TRUE(plain.layers.at(first->name).bias_correction.empty());

  // The logits' mean error against float, over the calibration images.
  auto mean_error = [&](const quant::QuantPlan* plan) {
    FakeQuant fq;
    if (plan) fq = resolve_plan(z.g, *plan);
    Executor ex(z.g, {KernelImpl::Reference, 1, plan ? &fq : nullptr});
    return ex.run(all.images).data;
  };
  const std::vector<float> ref = mean_error(nullptr);
  auto bias_of = [&](const quant::QuantPlan& p) {
    const std::vector<float> got = mean_error(&p);
    const size_t classes = 10;
    double total = 0;
    for (size_t c = 0; c < classes; ++c) {
      double d = 0;
      for (size_t i = c; i < got.size(); i += classes) d += got[i] - ref[i];
      total += std::fabs(d / static_cast<double>(got.size() / classes));
    }
    return total;
  };
  EXPECT_LT(bias_of(corrected), bias_of(plain));
}

}  // namespace
}  // namespace gammaq
