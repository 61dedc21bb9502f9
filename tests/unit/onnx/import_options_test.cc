// ImportOptions (--input-shape, --outputs) and the NHWC input tf2onnx writes: a detector cut
// before its post-processing keeps both heads as outputs and never reads the operators after
// the cut; symbolic H and W are fixed by --input-shape, and a contradiction is named; an NHWC
// input followed by Transpose becomes an NCHW input.
#include <gtest/gtest.h>

#include "gammaq/error.h"
#include "gammaq/executor.h"
#include "ir/passes.h"
#include "onnx/import.h"
#include "support/onnx_builder.h"

namespace gammaq {
namespace {

using test::attr_ints;
using test::OnnxBuilder;
using test::random_values;

Tensor run_reference(const Graph& g, const Tensor& x, int output = -1) {
  ExecutorOptions o;
  o.impl = KernelImpl::Reference;
  Executor e(g, o);
  const Tensor& y = e.run(x);
  return output < 0 ? y : e.value(output);
}

// A two-head detector: a backbone Conv, a box head and a score head, then post-processing
// gammaq does not read (NonMaxSuppression on the heads).
std::string detector() {
  OnnxBuilder b(13);
  b.input("x", {2, 4, 4}).output("selected");
  b.initializer("w", {3, 2, 1, 1}, random_values(6, 1));
  b.node("Conv", {"x", "w"}, {"feat"});
  b.initializer("wb", {4, 3, 1, 1}, random_values(12, 2));
  b.node("Conv", {"feat", "wb"}, {"boxes"});
  b.initializer("ws", {2, 3, 1, 1}, random_values(6, 3));
  b.node("Conv", {"feat", "ws"}, {"scores"});
  b.node("NonMaxSuppression", {"boxes", "scores"}, {"selected"}, "nms");
  return b.bytes();
}

std::string error_of(const std::string& bytes, const ImportOptions& o, ErrorKind kind) {
  try {
    (void)import_onnx_bytes(bytes, "m", o);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "import succeeded";
  return "";
}

TEST(ImportOptions, OutputsCutADetectorBeforeItsPostProcessing) {
  const std::string bytes = detector();
  const std::string refused = error_of(bytes, {}, ErrorKind::UnsupportedOp);
  EXPECT_NE(refused.find("'nms'"), std::string::npos) << refused;
  EXPECT_NE(refused.find("--outputs"), std::string::npos) << refused;

  ImportOptions o;
  o.outputs = {"scores", "boxes"};
  Graph g = import_onnx_bytes(bytes, "m", o);
  (void)optimize(g);
  EXPECT_EQ(g.values[g.output].name, "scores");
  ASSERT_EQ(g.extra_outputs.size(), 1u);
  EXPECT_EQ(g.values[g.extra_outputs[0]].name, "boxes");
  EXPECT_EQ(g.values[g.extra_outputs[0]].shape, (Shape{1, 4, 4, 4}));
  EXPECT_EQ(g.nodes.size(), 3u);
  // Both heads computed: boxes = wb * (w * x) at every pixel (1x1 convolutions).
  const Tensor x(Shape{1, 2, 4, 4}, random_values(32, 9));
  const Tensor boxes = run_reference(g, x, g.extra_outputs[0]);
  const std::vector<float> w = random_values(6, 1), wb = random_values(12, 2);
  for (int m = 0; m < 4; ++m) {
    double acc = 0;
    for (int c = 0; c < 3; ++c)
      acc += static_cast<double>(wb[static_cast<size_t>(m * 3 + c)]) *
             (w[static_cast<size_t>(c * 2)] * x.data[0] +
              w[static_cast<size_t>(c * 2 + 1)] * x.data[16]);
    EXPECT_NEAR(boxes.data[static_cast<size_t>(m * 16)], acc, 1e-5);
  }

  o.outputs = {"scores", "nope"};
  const std::string unknown = error_of(bytes, o, ErrorKind::InvalidOption);
  EXPECT_NE(unknown.find("--outputs"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("'nope'"), std::string::npos) << unknown;
}

TEST(ImportOptions, InputShapeFixesSymbolicDimensionsAndNamesAContradiction) {
  OnnxBuilder b(13);
  b.input("x", {3, -1, -1}).output("y");
  b.initializer("w", {2, 3, 3, 3}, random_values(54, 4));
  auto& c = b.node("Conv", {"x", "w"}, {"y"});
  attr_ints(c, "pads", {1, 1, 1, 1});
  const std::string bytes = b.bytes();
  const std::string msg = error_of(bytes, {}, ErrorKind::UnsupportedOp);
  EXPECT_NE(msg.find("dimension 2"), std::string::npos) << msg;

  ImportOptions o;
  o.input_shape = {1, 3, 6, 10};
  const Graph g = import_onnx_bytes(bytes, "m", o);
  EXPECT_EQ(g.values[g.input].shape, (Shape{1, 3, 6, 10}));
  EXPECT_EQ(g.values[g.output].shape, (Shape{1, 2, 6, 10}));

  o.input_shape = {1, 4, 6, 10};  // the file fixes C = 3
  const std::string bad = error_of(bytes, o, ErrorKind::InvalidOption);
  EXPECT_NE(bad.find("--input-shape 1,4,6,10 contradicts input 'x'"), std::string::npos) << bad;
  EXPECT_NE(bad.find("dimension 1 is 3"), std::string::npos) << bad;
  o.input_shape = {1, 3, 6};
  EXPECT_NE(error_of(bytes, o, ErrorKind::InvalidOption).find("N,C,H,W"), std::string::npos);
}

// tf2onnx: x [N, H, W, C] -> Transpose(0, 3, 1, 2) -> Conv. gammaq's input is the NCHW
// tensor, and the graph computes what the file computes on the transposed image.
TEST(ImportOptions, NhwcInputBecomesNchw) {
  OnnxBuilder b(13);
  b.input("x", {5, 4, 3}).output("y");  // H 5, W 4, C 3
  attr_ints(b.node("Transpose", {"x"}, {"t"}), "perm", {0, 3, 1, 2});
  b.initializer("w", {2, 3, 1, 1}, {1, 2, 3, -1, 0, 1});
  b.node("Conv", {"t", "w"}, {"y"});
  Graph g = import_onnx_bytes(b.bytes(), "m");
  (void)optimize(g);
  EXPECT_TRUE(g.nhwc_input);
  EXPECT_EQ(g.values[g.input].shape, (Shape{1, 3, 5, 4}));
  ASSERT_EQ(g.nodes.size(), 1u);  // the Transpose is gone
  Tensor x(Shape{1, 3, 5, 4}, random_values(60, 5));
  const Tensor y = run_reference(g, x);
  for (int p = 0; p < 20; ++p) {
    EXPECT_FLOAT_EQ(y.data[static_cast<size_t>(p)], x.data[static_cast<size_t>(p)] +
                                                        2 * x.data[static_cast<size_t>(20 + p)] +
                                                        3 * x.data[static_cast<size_t>(40 + p)]);
  }
  // The symbolic sizes of an NHWC input are fixed in NCHW order.
  OnnxBuilder d(13);
  d.input("x", {-1, -1, 3}).output("y");
  attr_ints(d.node("Transpose", {"x"}, {"t"}), "perm", {0, 3, 1, 2});
  d.initializer("w", {2, 3, 1, 1}, {1, 2, 3, -1, 0, 1});
  d.node("Conv", {"t", "w"}, {"y"});
  ImportOptions o;
  o.input_shape = {1, 3, 7, 9};
  const Graph gd = import_onnx_bytes(d.bytes(), "m", o);
  EXPECT_EQ(gd.values[gd.input].shape, (Shape{1, 3, 7, 9}));
}

}  // namespace
}  // namespace gammaq
