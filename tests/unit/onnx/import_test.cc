#include "onnx/import.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "gammaq/error.h"
#include "ir/passes.h"
#include "support/onnx_builder.h"

namespace gammaq {
namespace {

using test::attr_int;
using test::attr_ints;
using test::attr_string;
using test::OnnxBuilder;

// input 1x6x6 -> Conv(2 out, 3x3, pad 1) -> Relu -> MaxPool 2x2 -> Flatten -> Gemm(4)
OnnxBuilder small_cnn(int64_t opset = 13) {
  OnnxBuilder b(opset);
  b.input("x", {1, 6, 6}).output("y");
  b.initializer("w", {2, 1, 3, 3}, test::random_values(18, 1));
  b.initializer("b", {2}, {0.1f, -0.2f});
  b.initializer("fw", {4, 18}, test::random_values(72, 2));
  b.initializer("fb", {4}, {0.f, 1.f, 2.f, 3.f});
  auto& conv = b.node("Conv", {"x", "w", "b"}, {"c"}, "conv1");
  attr_ints(conv, "pads", {1, 1, 1, 1});
  b.node("Relu", {"c"}, {"r"}, "relu1");
  auto& pool = b.node("MaxPool", {"r"}, {"p"}, "pool1");
  attr_ints(pool, "kernel_shape", {2, 2});
  attr_ints(pool, "strides", {2, 2});
  b.node("Flatten", {"p"}, {"f"}, "flat");
  auto& gemm = b.node("Gemm", {"f", "fw", "fb"}, {"y"}, "fc");
  attr_int(gemm, "transB", 1);
  return b;
}

ErrorKind import_error_kind(const std::string& bytes, std::string* message = nullptr) {
  try {
    (void)import_onnx_bytes(bytes, "m");
  } catch (const Error& e) {
    if (message) *message = e.what();
    return e.kind();
  }
  ADD_FAILURE() << "import succeeded";
  return ErrorKind::Io;
}

TEST(ImportTest, SmallCnnShapesAndOps) {
  Graph g = import_onnx_bytes(small_cnn().bytes(), "small");
  ASSERT_EQ(g.nodes.size(), 5u);
  EXPECT_EQ(g.nodes[0].op, OpType::Conv);
  EXPECT_EQ(g.values[g.nodes[0].outputs[0]].shape, (Shape{1, 2, 6, 6}));
  EXPECT_EQ(g.values[g.nodes[2].outputs[0]].shape, (Shape{1, 2, 3, 3}));
  EXPECT_EQ(g.values[g.output].shape, (Shape{1, 4}));
  EXPECT_EQ(g.nodes[0].attrs.pads, (std::vector<int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(g.opset, 13);
  // Gemm weight is canonicalised to [out, in].
  EXPECT_EQ(g.values[g.nodes[4].inputs[1]].shape, (Shape{4, 18}));
  EXPECT_EQ(node_macs(g, g.nodes[0]), 2 * 36 * 9);
  EXPECT_EQ(node_macs(g, g.nodes[4]), 72);
  const PassReport r = optimize(g);
  EXPECT_EQ(r.fused_activations, 1);
  ASSERT_EQ(g.nodes.size(), 4u);
  EXPECT_EQ(g.nodes[0].attrs.activation, Activation::Relu);
}

TEST(ImportTest, EveryOpsetFrom7To21) {
  for (int64_t opset = 7; opset <= 21; ++opset) {
    SCOPED_TRACE(opset);
    EXPECT_NO_THROW((void)import_onnx_bytes(small_cnn(opset).bytes(), "m"));
  }
  for (int64_t opset : {6, 22}) {
    std::string msg;
    EXPECT_EQ(import_error_kind(small_cnn(opset).bytes(), &msg), ErrorKind::UnsupportedOp);
    EXPECT_NE(msg.find(str_cat("opset ", opset)), std::string::npos) << msg;
  }
}

TEST(ImportTest, TruncatedAndRandomBytesAreInvalidModel) {
  const std::string good = small_cnn().bytes();
  for (size_t cut : {size_t{1}, good.size() / 3, good.size() / 2, good.size() - 7}) {
    SCOPED_TRACE(cut);
    EXPECT_EQ(import_error_kind(good.substr(0, cut)), ErrorKind::InvalidModel);
  }
  std::string noise(4096, '\0');
  uint32_t s = 12345;
  for (char& c : noise) c = static_cast<char>((s = s * 1664525u + 1013904223u) >> 24);
  EXPECT_EQ(import_error_kind(noise), ErrorKind::InvalidModel);
  EXPECT_EQ(import_error_kind(""), ErrorKind::InvalidModel);
}

TEST(ImportTest, UnsupportedOperatorNamesNodeOpAndOpset) {
  OnnxBuilder b(13);
  b.input("x", {1, 4, 4}).output("y");
  b.node("Hardmax", {"x"}, {"y"}, "squash");
  std::string msg;
  EXPECT_EQ(import_error_kind(b.bytes(), &msg), ErrorKind::UnsupportedOp);
  EXPECT_NE(msg.find("'squash'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Hardmax"), std::string::npos) << msg;
  EXPECT_NE(msg.find("opset 13"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--outputs"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

TEST(ImportTest, NanOrInfInWeightsNamesTheTensor) {
  for (float bad : {std::nanf(""), std::numeric_limits<float>::infinity()}) {
    OnnxBuilder b = small_cnn();
    b.model().mutable_graph()->mutable_initializer(0)->set_float_data(5, bad);
    std::string msg;
    EXPECT_EQ(import_error_kind(b.bytes(), &msg), ErrorKind::InvalidModel);
    EXPECT_NE(msg.find("'w'"), std::string::npos) << msg;
    EXPECT_NE(msg.find(std::isnan(bad) ? "NaN" : "Inf"), std::string::npos) << msg;
    EXPECT_NE(msg.find("index 5"), std::string::npos) << msg;
  }
}

TEST(ImportTest, InitializerWithTooFewValues) {
  OnnxBuilder b = small_cnn();
  b.model().mutable_graph()->mutable_initializer(0)->mutable_float_data()->RemoveLast();
  std::string msg;
  EXPECT_EQ(import_error_kind(b.bytes(), &msg), ErrorKind::InvalidModel);
}

TEST(ImportTest, BadAttributeNamesNodeAndAttribute) {
  OnnxBuilder b = small_cnn();
  auto* conv = b.model().mutable_graph()->mutable_node(0);
  conv->mutable_attribute(0)->add_ints(1);  // pads now has 5 values
  std::string msg;
  EXPECT_EQ(import_error_kind(b.bytes(), &msg), ErrorKind::InvalidModel);
  EXPECT_NE(msg.find("conv1"), std::string::npos) << msg;
}

TEST(ImportTest, MissingFileIsIoError) {
  try {
    (void)import_onnx_file("/nonexistent/model.onnx");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Io);
  }
}

TEST(ImportTest, SamePaddingResolvesToExplicitPads) {
  OnnxBuilder b(13);
  b.input("x", {1, 5, 5}).output("y");
  b.initializer("w", {1, 1, 4, 4}, test::random_values(16, 3));
  auto& conv = b.node("Conv", {"x", "w"}, {"y"}, "c");
  attr_string(conv, "auto_pad", "SAME_UPPER");
  attr_ints(conv, "strides", {2, 2});
  Graph g = import_onnx_bytes(b.bytes(), "m");
  // out = ceil(5/2) = 3; total pad = (3-1)*2 + 4 - 5 = 3 -> begin 1, end 2 (SAME_UPPER).
  EXPECT_EQ(g.nodes[0].attrs.pads, (std::vector<int64_t>{1, 1, 2, 2}));
  EXPECT_EQ(g.values[g.output].shape, (Shape{1, 1, 3, 3}));
}

}  // namespace
}  // namespace gammaq

namespace gammaq {
namespace {

// Hostile-but-checker-valid graphs found by review and fuzzing: each must be an Error.
class HostileGraphTest : public ::testing::Test {
 protected:
  static ErrorKind kind_of(const test::OnnxBuilder& b, std::string* msg = nullptr) {
    return import_error_kind(b.bytes(), msg);
  }
};

TEST_F(HostileGraphTest, ReshapeMustKeepTheElementCount) {
  test::OnnxBuilder b(13);
  b.input("x", {1, 2, 5}).output("y");
  b.initializer_i64("s", {0, 2});
  b.node("Flatten", {"x"}, {"f"}, "flat");
  b.node("Reshape", {"f", "s"}, {"y"}, "reshape");
  std::string msg;
  EXPECT_EQ(kind_of(b, &msg), ErrorKind::InvalidModel);
  EXPECT_NE(msg.find("reshape"), std::string::npos) << msg;
}

TEST_F(HostileGraphTest, AddMustNotBroadcastAcrossTheBatch) {
  test::OnnxBuilder b(13);
  b.input("x", {1, 4, 4}).output("y");
  b.initializer("c", {1, 1, 1, 16}, std::vector<float>(16, 1.0f));
  b.node("Flatten", {"x"}, {"f"}, "flat");  // [N, 16]
  b.node("Add", {"f", "c"}, {"y"}, "add");  // [1,1,1,16] would put N in dimension 2
  EXPECT_NE(kind_of(b), ErrorKind::Io);
}

TEST_F(HostileGraphTest, PoolPadsNotSmallerThanKernel) {
  test::OnnxBuilder b(13);
  b.input("x", {1, 4, 4}).output("y");
  auto& p = b.node("MaxPool", {"x"}, {"y"}, "pool");
  attr_ints(p, "kernel_shape", {2, 2});
  attr_ints(p, "pads", {2, 2, 2, 2});
  std::string msg;
  EXPECT_EQ(kind_of(b, &msg), ErrorKind::InvalidModel);
  EXPECT_NE(msg.find("pads"), std::string::npos) << msg;
}

TEST_F(HostileGraphTest, WindowLargerThanInputGivesEmptyOutput) {
  test::OnnxBuilder b(13);
  b.input("x", {1, 4, 4}).output("y");
  auto& p = b.node("MaxPool", {"x"}, {"y"}, "pool");
  attr_ints(p, "kernel_shape", {6, 6});
  EXPECT_EQ(kind_of(b), ErrorKind::InvalidModel);
}

TEST_F(HostileGraphTest, AutoPadWithPads) {
  test::OnnxBuilder b(13);
  b.input("x", {1, 5, 5}).output("y");
  b.initializer("w", {1, 1, 3, 3}, test::random_values(9, 4));
  auto& c = b.node("Conv", {"x", "w"}, {"y"}, "conv");
  attr_string(c, "auto_pad", "VALID");
  attr_ints(c, "pads", {2, 2, 2, 2});
  EXPECT_EQ(kind_of(b), ErrorKind::InvalidModel);
}

TEST_F(HostileGraphTest, HugeDeclaredInitializerWithFewBytes) {
  test::OnnxBuilder b = small_cnn();
  auto* t = b.model().mutable_graph()->add_initializer();
  t->set_name("unused");
  t->set_data_type(onnx::TensorProto::FLOAT);
  t->add_dims(int64_t{1} << 31);
  t->set_raw_data(std::string(4, '\0'));
  EXPECT_EQ(kind_of(b), ErrorKind::InvalidModel);
}

TEST_F(HostileGraphTest, ConvOnRank2InputFoundByFuzzer) {
  // libonnx 1.12 shape inference dereferences null here; the importer must stop first.
  test::OnnxBuilder b(11);
  b.input("x", {6}).output("y");
  b.initializer("w", {2, 1, 3, 3}, test::random_values(18, 5));
  b.node("Conv", {"x", "w"}, {"y"}, "conv");
  EXPECT_EQ(kind_of(b), ErrorKind::UnsupportedOp);
}

TEST_F(HostileGraphTest, EmptyWeight) {
  test::OnnxBuilder b(13);
  b.input("x", {1, 4, 4}).output("y");
  b.initializer("w", {0, 1, 3, 3}, {});
  b.node("Conv", {"x", "w"}, {"y"}, "conv");
  EXPECT_EQ(kind_of(b), ErrorKind::InvalidModel);
}

}  // namespace
}  // namespace gammaq
