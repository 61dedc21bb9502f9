// Every operator and idiom of issue 18 in small CNNs built here, run by gammaq (fast and
// reference kernels) and by ONNX Runtime (scripts/ort_crosscheck.js): logits within 1e-4
// relative, the same top-1. Skipped when ONNX Runtime (npm) is not installed.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "gammaq/error.h"
#include "support/npy.h"
#include "support/onnx_builder.h"

namespace gammaq {
namespace {

using test::attr_float;
using test::attr_int;
using test::attr_ints;
using test::attr_string;
using test::OnnxBuilder;
using test::random_values;

void conv(OnnxBuilder& b, const std::string& x, const std::string& y, int64_t cin, int64_t cout,
          int64_t k, int64_t group, uint32_t seed, int64_t pad) {
  const std::string w = y + "_w", bias = y + "_b";
  b.initializer(w, {cout, cin / group, k, k},
                random_values(static_cast<size_t>(cout * cin / group * k * k), seed, -0.5f, 0.5f));
  b.initializer(bias, {cout}, random_values(static_cast<size_t>(cout), seed + 1, -0.2f, 0.2f));
  auto& n = b.node("Conv", {x, w, bias}, {y});
  attr_ints(n, "pads", {pad, pad, pad, pad});
  attr_int(n, "group", group);
}

// MobileNetV3-style: hard-swish, a squeeze-excitation block with HardSigmoid, Sub/Div by
// constants, Transpose, Slice, Split, Max, reflect Pad, Elu, Tanh, ReduceMean, Softmax.
std::string mobilenet_like() {
  OnnxBuilder b(14);  // HardSwish is opset 14
  b.input("x", {3, 12, 12}).output("y");
  conv(b, "x", "c1", 3, 8, 3, 1, 1, 1);
  b.node("HardSwish", {"c1"}, {"h1"});
  conv(b, "h1", "dw", 8, 8, 3, 8, 3, 1);
  b.node("GlobalAveragePool", {"dw"}, {"sq"});
  conv(b, "sq", "se1", 8, 4, 1, 1, 5, 0);
  b.node("Relu", {"se1"}, {"se1r"});
  conv(b, "se1r", "se2", 4, 8, 1, 1, 7, 0);
  attr_float(b.node("HardSigmoid", {"se2"}, {"gate"}), "alpha", 1.0f / 6.0f);
  b.node("Mul", {"gate", "dw"}, {"se"});  // [N,8,1,1] x [N,8,H,W], the gate first
  b.initializer("half", {8, 1, 1}, random_values(8, 9, 0.1f, 0.9f));
  b.initializer("three", {}, {3.0f});
  b.node("Sub", {"se", "half"}, {"s1"});
  b.node("Div", {"s1", "three"}, {"d1"});
  b.node("Sub", {"three", "d1"}, {"d2"});  // c - x
  b.node("Tanh", {"d2"}, {"t1"});
  attr_ints(b.node("Transpose", {"t1"}, {"tr"}), "perm", {0, 1, 3, 2});
  b.initializer_i64("st", {1});
  b.initializer_i64("en", {7});
  b.initializer_i64("ax", {1});
  b.node("Slice", {"tr", "st", "en", "ax"}, {"sl"});  // channels 1..6
  auto& split = b.node("Split", {"sl"}, {"p0", "p1"});
  attr_int(split, "axis", 1);
  b.node("Max", {"p0", "p1"}, {"mx"});
  b.initializer_i64("pads", {0, 0, 1, 2, 0, 0, 2, 1});
  attr_string(b.node("Pad", {"mx", "pads"}, {"pd"}), "mode", "reflect");
  conv(b, "pd", "c3", 3, 6, 3, 1, 11, 0);
  attr_float(b.node("Elu", {"c3"}, {"e"}), "alpha", 0.5f);
  auto& red = b.node("ReduceMean", {"e"}, {"r"});
  attr_ints(red, "axes", {2, 3});
  attr_int(red, "keepdims", 0);
  b.node("Softmax", {"r"}, {"y"});
  return b.write("mobilenet_like.onnx");
}

// paddle2onnx-style at opset 9: Pad (edge) and Clip with attributes, PRelu, x * Sigmoid(x),
// the old Softmax over the flattened tail, Flatten + Gemm.
std::string paddle_like() {
  OnnxBuilder b(9);
  b.input("x", {3, 10, 10}).output("y");
  auto& pad = b.node("Pad", {"x"}, {"p"});
  attr_ints(pad, "pads", {0, 0, 1, 1, 0, 0, 1, 1});
  attr_string(pad, "mode", "edge");
  conv(b, "p", "c1", 3, 6, 3, 1, 21, 0);
  auto& clip = b.node("Clip", {"c1"}, {"cl"});
  attr_float(clip, "min", -0.5f);
  attr_float(clip, "max", 0.8f);
  b.initializer("slope", {6, 1, 1}, random_values(6, 23, 0.05f, 0.3f));
  b.node("PRelu", {"cl", "slope"}, {"pr"});
  b.node("Sigmoid", {"pr"}, {"sg"});
  b.node("Mul", {"pr", "sg"}, {"silu"});
  conv(b, "silu", "c2", 6, 4, 3, 1, 25, 1);
  attr_int(b.node("Softmax", {"c2"}, {"sm"}), "axis", 1);  // over C*H*W before opset 13
  b.node("Flatten", {"sm"}, {"f"});
  b.initializer("fw", {400, 5}, random_values(2000, 27, -1.0f, 1.0f));
  b.initializer("fb", {5}, random_values(5, 29));
  b.node("Gemm", {"f", "fw", "fb"}, {"y"});
  return b.write("paddle_like.onnx");
}

// opset 18: ReduceMax with axes as an input, Split by num_outputs, GlobalMaxPool, Min, and
// torch's dynamic-batch channel shuffle (Shape/Gather/Div/Unsqueeze/Concat feeding Reshape).
std::string opset18() {
  OnnxBuilder b(18);
  b.input("x", {4, 6, 6}).output("y");
  conv(b, "x", "c1", 4, 8, 3, 1, 31, 1);
  b.node("Shape", {"c1"}, {"s"});
  b.initializer_i64("i0", {0});
  b.initializer_i64("i1", {1});
  b.initializer_i64("two", {2});
  b.initializer_i64("hw", {6, 6});
  attr_int(b.node("Gather", {"s", "i0"}, {"n"}), "axis", 0);
  attr_int(b.node("Gather", {"s", "i1"}, {"c"}), "axis", 0);
  b.node("Div", {"c", "two"}, {"cpg"});
  attr_int(b.node("Concat", {"n", "two", "cpg", "hw"}, {"t5"}), "axis", 0);
  b.node("Reshape", {"c1", "t5"}, {"r5"});
  attr_ints(b.node("Transpose", {"r5"}, {"x5"}), "perm", {0, 2, 1, 3, 4});
  b.node("Shape", {"c1"}, {"s4"});
  b.node("Reshape", {"x5", "s4"}, {"sh"});
  auto& split = b.node("Split", {"sh"}, {"a", "bb"});
  attr_int(split, "axis", 1);
  attr_int(split, "num_outputs", 2);
  b.node("Min", {"a", "bb"}, {"mn"});
  b.initializer_i64("axes", {2, 3});
  b.node("ReduceMax", {"mn", "axes"}, {"rm"});  // [N,4,1,1]
  b.node("GlobalMaxPool", {"bb"}, {"gm"});
  b.node("Sub", {"rm", "gm"}, {"y4"});
  b.node("Flatten", {"y4"}, {"y"});
  return b.write("opset18.onnx");
}

TEST(OrtCnnOps, EveryNewOperatorAgreesWithOnnxRuntime) {
  const std::string dir = test::temp_dir();
  const std::vector<std::string> models = {mobilenet_like(), paddle_like(), opset18()};
  for (const auto& [name, shape] : std::vector<std::pair<std::string, Shape>>{
           {"x3_12", {6, 3, 12, 12}}, {"x3_10", {6, 3, 10, 10}}, {"x4_6", {6, 4, 6, 6}}}) {
    Tensor x(shape, random_values(static_cast<size_t>(shape_numel(shape)), 77, -2.0f, 2.0f));
    ASSERT_TRUE(test::write_npy_f32(dir + "/" + name + ".npy", x));
  }
  ASSERT_TRUE(test::write_npy_i64(dir + "/labels.npy", {0, 1, 2, 3, 0, 1}));
  const char* inputs[] = {"x3_12", "x3_10", "x4_6"};
  for (size_t m = 0; m < models.size(); ++m) {
    for (const char* kernels : {"fast", "reference"}) {
      SCOPED_TRACE(models[m] + " " + kernels);
      const std::string log = dir + "/ort.log";
      const std::string cmd =
          str_cat("GAMMAQ_KERNELS=", kernels, " node ", GAMMAQ_SOURCE_DIR,
                  "/scripts/ort_crosscheck.js ", GAMMAQ_BINARY, " ", models[m], " --data npy:", dir,
                  "/", inputs[m], ".npy,", dir, "/labels.npy > ", log, " 2>&1");
      const int rc = std::system(cmd.c_str());
      std::ifstream f(log);
      std::stringstream ss;
      ss << f.rdbuf();
      if (WIFEXITED(rc) && WEXITSTATUS(rc) == 77) GTEST_SKIP() << ss.str();
      EXPECT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0) << ss.str();
      EXPECT_NE(ss.str().find("ok "), std::string::npos) << ss.str();
    }
  }
}

}  // namespace
}  // namespace gammaq
