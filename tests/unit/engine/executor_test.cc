#include "gammaq/executor.h"

#include <gtest/gtest.h>

#include "gammaq/error.h"
#include "ir/passes.h"
#include "onnx/import.h"
#include "support/compare.h"
#include "support/onnx_builder.h"

namespace gammaq {
namespace {

using test::attr_int;
using test::attr_ints;

// Conv -> BatchNormalization -> Relu -> (Add residual) -> GlobalAveragePool -> Flatten -> Gemm
std::string residual_bn_model() {
  test::OnnxBuilder b(13);
  b.input("x", {3, 8, 8}).output("y");
  b.initializer("w", {3, 3, 3, 3}, test::random_values(81, 11));
  b.initializer("s", {3}, {1.5f, 0.5f, 2.0f});
  b.initializer("bb", {3}, {0.1f, -0.3f, 0.2f});
  b.initializer("m", {3}, {0.2f, -0.1f, 0.0f});
  b.initializer("v", {3}, {0.9f, 1.7f, 0.3f});
  b.initializer("fw", {5, 3}, test::random_values(15, 12));
  auto& conv = b.node("Conv", {"x", "w"}, {"c"}, "conv");
  attr_ints(conv, "pads", {1, 1, 1, 1});
  b.node("BatchNormalization", {"c", "s", "bb", "m", "v"}, {"n"}, "bn");
  b.node("Relu", {"n"}, {"r"}, "relu");
  b.node("Add", {"r", "x"}, {"a"}, "add");
  b.node("GlobalAveragePool", {"a"}, {"g"}, "gap");
  b.node("Flatten", {"g"}, {"f"}, "flat");
  auto& gemm = b.node("Gemm", {"f", "fw"}, {"y"}, "fc");
  attr_int(gemm, "transB", 1);
  return b.bytes();
}

Tensor run(const Graph& g, KernelImpl impl, const Tensor& x, int threads = 0) {
  Executor e(g, {impl, threads});
  return e.run(x);
}

TEST(ExecutorTest, BatchNormFoldingAndFusionPreserveOutputs) {
  const Graph raw = import_onnx_bytes(residual_bn_model(), "m");
  Graph opt = raw;
  const PassReport r = optimize(opt);
  EXPECT_EQ(r.folded_batchnorms, 1);
  EXPECT_EQ(r.fused_activations, 1);
  for (const Node& n : opt.nodes) EXPECT_NE(n.op, OpType::BatchNormalization);
  const Tensor x(Shape{4, 3, 8, 8}, test::random_values(768, 13));
  const Tensor want = run(raw, KernelImpl::Reference, x);
  EXPECT_TRUE(test::agree(run(opt, KernelImpl::Reference, x).data, want.data, 27));
  EXPECT_TRUE(test::agree(run(opt, KernelImpl::Fast, x).data, want.data, 27));
}

TEST(ExecutorTest, ReferenceIsBitwiseIndependentOfThreadsAndBatch) {
  Graph g = import_onnx_bytes(residual_bn_model(), "m");
  (void)optimize(g);
  const Tensor x(Shape{6, 3, 8, 8}, test::random_values(6 * 192, 14));
  const Tensor one = run(g, KernelImpl::Reference, x, 1);
  EXPECT_EQ(one.data, run(g, KernelImpl::Reference, x, 2).data);
  // Image 3 alone gives the same logits as inside the batch.
  Tensor x3(Shape{1, 3, 8, 8},
            std::vector<float>(x.data.begin() + 3 * 192, x.data.begin() + 4 * 192));
  const Tensor y3 = run(g, KernelImpl::Reference, x3, 2);
  EXPECT_EQ(y3.data, std::vector<float>(one.data.begin() + 15, one.data.begin() + 20));
}

TEST(ExecutorTest, WrongImageShapeIsInvalidData) {
  Graph g = import_onnx_bytes(residual_bn_model(), "m");
  Executor e(g, {});
  try {
    (void)e.run(Tensor(Shape{2, 1, 28, 28}));
    FAIL();
  } catch (const Error& err) {
    EXPECT_EQ(err.kind(), ErrorKind::InvalidData);
    EXPECT_NE(std::string(err.what()).find("1x28x28"), std::string::npos) << err.what();
    EXPECT_NE(std::string(err.what()).find("3x8x8"), std::string::npos) << err.what();
  }
}

TEST(ExecutorTest, TapSeesEveryNodeOutputOnce) {
  Graph g = import_onnx_bytes(residual_bn_model(), "m");
  (void)optimize(g);
  Executor e(g, {KernelImpl::Reference, 0});
  std::vector<int> seen;
  e.set_tap([&](int id, const Tensor& t) {
    seen.push_back(id);
    EXPECT_EQ(t.shape[0], 2);
  });
  (void)e.run(Tensor(Shape{2, 3, 8, 8}, 0.5f));
  EXPECT_EQ(seen.size(), g.nodes.size() + 1);
  EXPECT_EQ(seen.back(), g.output);
}

}  // namespace
}  // namespace gammaq
