// sensitivity(): every candidate's score equals a direct evaluation of the network with only
// that tensor rounded; the prefix cache changes nothing; the suggestion's measured loss is the
// suggested plan's.
#include "pipeline/sensitivity.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "engine/fake_quant.h"
#include "gammaq/dataset.h"
#include "gammaq/error.h"
#include "gammaq/evaluate.h"
#include "gammaq/executor.h"
#include "ir/passes.h"
#include "onnx/import.h"

namespace gammaq {
namespace {

struct Zoo {
  Graph g;
  std::unique_ptr<Dataset> calib, val;
  Zoo() {
    g = import_onnx_file(std::string(GAMMAQ_SOURCE_DIR) + "/models/resnet.onnx");
    (void)optimize(g);
    const Preprocess pre = parse_preprocess_json(g.metadata.at("gammaq.preprocess"));
    calib = open_dataset("fashion-mnist:train[0:32]", pre);
    val = open_dataset("fashion-mnist:train[59000:59096]", pre);
  }
  SensitivityOptions options(bool cache) const {
    SensitivityOptions o;
    o.bits = 3;
    o.quant.threads = 1;
    o.quant.quiet = true;
    o.quant.batch = 16;
    o.eval.batch = 32;
    o.eval.threads = 2;
    o.eval.quiet = true;
    o.eval.cache = cache;
    o.max_attempts = 2;
    return o;
  }
  // Top-1 on val with fast kernels, one chunk at a time, as the tuning set scores.
  double top1(const FakeQuant* fq) {
    Executor e(g, {KernelImpl::Fast, 1, fq});
    EvalOptions eo;
    eo.batch = 32;
    return evaluate(e, *val, eo).top1();
  }
};

FakeQuant float_numerics(const Graph& g, quant::Rounding rounding) {
  FakeQuant fq;
  fq.rounding = rounding;
  fq.value_format.assign(g.values.size(), std::nullopt);
  fq.constant.assign(g.values.size(), Tensor());
  return fq;
}

TEST(Sensitivity, CandidatesAreTheNetworkWithOneTensorRounded) {
  Zoo s;
  const SensitivityReport r = sensitivity(s.g, *s.calib, *s.val, s.options(true));
  EXPECT_TRUE(r.cached);
  ASSERT_EQ(r.ranked.size(), r.plan.layers.size() + r.plan.activations.size());
  EXPECT_DOUBLE_EQ(r.float_top1, s.top1(nullptr));
  for (size_t i = 1; i < r.ranked.size(); ++i) EXPECT_LE(r.ranked[i - 1].top1, r.ranked[i].top1);
  // The worst weight and the worst feature map, evaluated directly without any cache.
  quant::QuantPlan weights_only = r.plan;
  weights_only.float_activations = true;
  const FakeQuant wq = resolve_plan(s.g, weights_only), full = resolve_plan(s.g, r.plan);
  int checked = 0;
  for (const char* kind : {"weight", "output"}) {
    auto it = std::find_if(r.ranked.begin(), r.ranked.end(),
                           [&](const TensorSensitivity& t) { return t.tensor == kind; });
    ASSERT_NE(it, r.ranked.end());
    FakeQuant fq = float_numerics(s.g, r.plan.rounding);
    if (it->tensor == "weight") {
      for (const Node& n : s.g.nodes)
        if (n.name == it->name) fq.constant[n.inputs[1]] = wq.constant[n.inputs[1]];
    } else {
      const int v = s.g.find_value(it->name);
      fq.value_format[v] = full.value_format[v];
    }
    EXPECT_DOUBLE_EQ(it->top1, s.top1(&fq)) << it->name;
    EXPECT_NEAR(it->loss_points, 100 * (r.float_top1 - it->top1), 1e-9);
    EXPECT_LT(it->rerun_mac_fraction, 1.0 + 1e-12);
    ++checked;
  }
  EXPECT_EQ(checked, 2);
  // At 3 bits rounding a tensor alone hurts somewhere, and the worst output SQNR is finite.
  EXPECT_LT(r.ranked.front().top1, r.float_top1);
  EXPECT_TRUE(std::isfinite(r.ranked.front().sqnr_db));
  EXPECT_LT(r.rerun_mac_fraction, 1.0);  // most candidates re-run only part of the network

  // The suggestion: its measured loss is its plan's, and it is the fewest kept of the
  // attempts that met the target (no count is tried twice).
  ASSERT_FALSE(r.attempts.empty());
  EXPECT_LE(r.attempts.size(), 2u);
  const FakeQuant sq = resolve_plan(s.g, r.suggested);
  EXPECT_NEAR(r.measured_loss, 100 * (r.float_top1 - s.top1(&sq)), 1e-9);
  EXPECT_EQ(r.met, r.measured_loss <= 1.0 + 1e-9);
  for (size_t i = 0; i < r.attempts.size(); ++i) {
    for (size_t j = 0; j < i; ++j) EXPECT_NE(r.attempts[i].keep, r.attempts[j].keep);
    if (r.met && r.attempts[i].measured_loss <= 1.0 + 1e-9) {
      EXPECT_GE(r.attempts[i].keep, r.keep);
    }
  }

  // Without the prefix cache: the same scores, bit for bit.
  const SensitivityReport u = sensitivity(s.g, *s.calib, *s.val, s.options(false));
  EXPECT_FALSE(u.cached);
  ASSERT_EQ(u.ranked.size(), r.ranked.size());
  for (size_t i = 0; i < r.ranked.size(); ++i) {
    EXPECT_EQ(u.ranked[i].name, r.ranked[i].name);
    EXPECT_EQ(u.ranked[i].top1, r.ranked[i].top1);
    EXPECT_EQ(u.ranked[i].sqnr_db, r.ranked[i].sqnr_db) << r.ranked[i].name;
  }
  EXPECT_EQ(u.measured_loss, r.measured_loss);
}

TEST(Sensitivity, BadOptionsNameTheFlag) {
  Zoo s;
  SensitivityOptions o = s.options(true);
  o.bits = 1;
  EXPECT_THROW((void)sensitivity(s.g, *s.calib, *s.val, o), Error);
  o = s.options(true);
  o.max_loss = -1;
  try {
    (void)sensitivity(s.g, *s.calib, *s.val, o);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--max-loss"), std::string::npos);
  }
}

}  // namespace
}  // namespace gammaq
