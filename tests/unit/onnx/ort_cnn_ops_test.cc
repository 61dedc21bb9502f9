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

// A segmentation-style decoder at opset 13: Resize by scales (torch's nearest x2), by sizes
// computed from a Shape (torch's F.interpolate(size=...)), and in the other coordinate modes,
// shrinking and enlarging; ConvTranspose with output_padding, output_shape, SAME_UPPER and
// groups, a batch norm after one; skip connections.
std::string segmenter_like() {
  OnnxBuilder b(13);
  b.input("x", {3, 8, 8}).output("y");
  conv(b, "x", "c1", 3, 4, 3, 1, 41, 1);
  auto& pool = b.node("MaxPool", {"c1"}, {"p"});
  attr_ints(pool, "kernel_shape", {2, 2});
  attr_ints(pool, "strides", {2, 2});
  conv(b, "p", "c2", 4, 4, 3, 1, 43, 1);
  // The decoder's x2: ConvTranspose (stride 2, pads 1, output_padding 1), then a batch norm
  // that folds into it.
  b.initializer("d1_w", {4, 4, 3, 3}, random_values(144, 47, -0.5f, 0.5f));
  b.initializer("d1_b", {4}, random_values(4, 48, -0.2f, 0.2f));
  auto& d1 = b.node("ConvTranspose", {"c2", "d1_w", "d1_b"}, {"d1"});  // [4, 8, 8]
  attr_ints(d1, "strides", {2, 2});
  attr_ints(d1, "pads", {1, 1, 1, 1});
  attr_ints(d1, "output_padding", {1, 1});
  b.initializer("bn_s", {4}, random_values(4, 61, 0.5f, 1.5f));
  b.initializer("bn_b", {4}, random_values(4, 62, -0.3f, 0.3f));
  b.initializer("bn_m", {4}, random_values(4, 63, -0.3f, 0.3f));
  b.initializer("bn_v", {4}, random_values(4, 64, 0.5f, 1.5f));
  b.node("BatchNormalization", {"d1", "bn_s", "bn_b", "bn_m", "bn_v"}, {"d1n"});
  auto resize = [&](const std::string& x, const std::string& y, std::vector<float> scales,
                    const char* mode, const char* coord, const char* nearest) -> onnx::NodeProto& {
    b.initializer(y + "_s", {4}, std::move(scales));
    auto& r = b.node("Resize", {x, "", y + "_s"}, {y});
    attr_string(r, "mode", mode);
    attr_string(r, "coordinate_transformation_mode", coord);
    if (nearest) attr_string(r, "nearest_mode", nearest);
    return r;
  };
  resize("c2", "u1", {1, 1, 2, 2}, "nearest", "asymmetric", "floor");  // [4, 8, 8]
  b.node("Add", {"u1", "c1"}, {"skip0"});
  b.node("Add", {"skip0", "d1n"}, {"skip"});
  b.node("Shape", {"skip"}, {"s"});
  b.initializer_i64("z", {0});
  b.initializer_i64("two", {2});
  b.node("Slice", {"s", "z", "two"}, {"nc"});
  b.initializer_i64("hw", {11, 13});
  attr_int(b.node("Concat", {"nc", "hw"}, {"sizes"}), "axis", 0);
  auto& by_size = b.node("Resize", {"skip", "", "", "sizes"}, {"u2"});  // [4, 11, 13]
  attr_string(by_size, "mode", "linear");
  attr_string(by_size, "coordinate_transformation_mode", "pytorch_half_pixel");
  resize("u2", "u3", {1, 1, 0.5f, 0.6f}, "linear", "align_corners", nullptr);  // [4, 5, 7]
  resize("u3", "u4", {1, 1, 1.5f, 1.5f}, "nearest", "half_pixel", "round_prefer_ceil");
  resize("u4", "u5", {1, 1, 1.0f, 2.0f}, "linear", "asymmetric", nullptr);  // [4, 7, 20]
  resize("u5", "u6", {1, 1, 2.0f, 0.5f}, "nearest", "half_pixel", "floor");
  // Grouped ConvTranspose sized by output_shape (pads 1 and 1), then one by SAME_UPPER with
  // an odd total padding (stride 2, kernel 3): [4, 14, 10] -> [4, 28, 20].
  b.initializer("d2_w", {4, 2, 3, 3}, random_values(72, 49, -0.5f, 0.5f));
  auto& d2 = b.node("ConvTranspose", {"u6", "d2_w"}, {"d2"});
  attr_int(d2, "group", 2);
  attr_ints(d2, "output_shape", {14, 10});
  b.node("Relu", {"d2"}, {"d2r"});
  b.initializer("d3_w", {4, 4, 3, 3}, random_values(144, 50, -0.5f, 0.5f));
  auto& d3 = b.node("ConvTranspose", {"d2r", "d3_w"}, {"d3"});
  attr_ints(d3, "strides", {2, 2});
  attr_string(d3, "auto_pad", "SAME_UPPER");
  conv(b, "d3", "c3", 4, 2, 3, 1, 45, 0);
  b.node("Flatten", {"c3"}, {"y"});
  return b.write("segmenter_like.onnx");
}

// Upsample at opset 9 (scales as an input; paddle2onnx's decoders), nearest and linear, and
// Resize at opset 10 (scales only, asymmetric), shrinking (ONNX Runtime's ceil) and enlarging.
std::string upsample9() {
  OnnxBuilder b(9);
  b.input("x", {3, 6, 6}).output("y");
  conv(b, "x", "c1", 3, 3, 3, 1, 51, 1);
  b.initializer("s1", {4}, {1, 1, 2, 2});
  b.node("Upsample", {"c1", "s1"}, {"u1"});  // nearest: [3, 12, 12]
  b.initializer("s2", {4}, {1, 1, 1.0f, 1.5f});
  b.node("Upsample", {"u1", "s2"}, {"u2"});  // [3, 12, 18]
  b.initializer("s3", {4}, {1, 1, 1.5f, 1.0f});
  attr_string(b.node("Upsample", {"u2", "s3"}, {"u3"}), "mode", "linear");  // [3, 18, 18]
  conv(b, "u3", "c2", 3, 2, 3, 1, 53, 0);
  b.node("Flatten", {"c2"}, {"y"});
  return b.write("upsample9.onnx");
}

std::string resize10() {
  OnnxBuilder b(10);
  b.input("x", {3, 6, 6}).output("y");
  conv(b, "x", "c1", 3, 3, 3, 1, 55, 1);
  b.initializer("s1", {4}, {1, 1, 0.6f, 0.75f});
  b.node("Resize", {"c1", "s1"}, {"r1"});  // nearest: [3, 3, 4]
  b.initializer("s2", {4}, {1, 1, 2.0f, 1.5f});
  attr_string(b.node("Resize", {"r1", "s2"}, {"r2"}), "mode", "linear");  // [3, 6, 6]
  conv(b, "r2", "c2", 3, 2, 3, 1, 57, 0);
  b.node("Flatten", {"c2"}, {"y"});
  return b.write("resize10.onnx");
}

// Runs `script` (a scripts/*.js check) on one model and its input; skips the test when ONNX
// Runtime is missing (exit 77), else requires exit 0 and an "ok " line.
void run_check(const std::string& env, const std::string& script, const std::string& model,
               const std::string& data, const std::string& extra, const std::string& log) {
  const std::string cmd =
      str_cat(env, " node ", GAMMAQ_SOURCE_DIR, "/scripts/", script, " ", GAMMAQ_BINARY, " ", model,
              " ", extra, " --data ", data, " > ", log, " 2>&1");
  const int rc = std::system(cmd.c_str());
  std::ifstream f(log);
  std::stringstream ss;
  ss << f.rdbuf();
  if (WIFEXITED(rc) && WEXITSTATUS(rc) == 77) GTEST_SKIP() << ss.str();
  EXPECT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0) << ss.str();
  EXPECT_NE(ss.str().find("ok "), std::string::npos) << ss.str();
}

// tf2onnx-style at opset 13: an NHWC input transposed to NCHW, an explicit Pad before each
// Conv, ReLU6 as Clip with min/max inputs, a depthwise Conv, a standalone batch norm and ReLU,
// ReduceMean over H and W, then MatMul and Add for the dense layer.
std::string tf2onnx_like() {
  OnnxBuilder b(13);
  b.input("x", {8, 8, 3}).output("y");  // N x H x W x C
  attr_ints(b.node("Transpose", {"x"}, {"t"}), "perm", {0, 3, 1, 2});
  b.initializer_i64("pads", {0, 0, 1, 1, 0, 0, 1, 1});
  b.node("Pad", {"t", "pads"}, {"p1"});
  conv(b, "p1", "c1", 3, 6, 3, 1, 81, 0);
  b.initializer("zero", {}, {0.0f});
  b.initializer("six", {}, {6.0f});
  b.node("Clip", {"c1", "zero", "six"}, {"r1"});
  b.node("Pad", {"r1", "pads"}, {"p2"});
  conv(b, "p2", "dw", 6, 6, 3, 6, 83, 0);
  b.node("Clip", {"dw", "zero", "six"}, {"r2c"});
  // A batch norm no convolution absorbs, then ReLU (DenseNet's pre-activation): fused.
  b.initializer("bn_s", {6}, random_values(6, 87, 0.5f, 1.5f));
  b.initializer("bn_b", {6}, random_values(6, 88, -0.5f, 0.5f));
  b.initializer("bn_m", {6}, random_values(6, 89, 0.0f, 3.0f));
  b.initializer("bn_v", {6}, random_values(6, 90, 0.5f, 2.0f));
  b.node("BatchNormalization", {"r2c", "bn_s", "bn_b", "bn_m", "bn_v"}, {"bn"});
  b.node("Relu", {"bn"}, {"r2"});
  auto& mean = b.node("ReduceMean", {"r2"}, {"m"});
  attr_ints(mean, "axes", {2, 3});
  test::attr_int(mean, "keepdims", 0);
  b.initializer("fc_w", {6, 4}, random_values(24, 85, -1.0f, 1.0f));
  b.node("MatMul", {"m", "fc_w"}, {"mm"});
  b.initializer("fc_b", {4}, random_values(4, 86));
  b.node("Add", {"mm", "fc_b"}, {"y"});
  return b.write("tf2onnx_like.onnx");
}

class OrtCnnOps : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = test::temp_dir();
    models_ = {mobilenet_like(), paddle_like(), opset18(),     segmenter_like(),
               upsample9(),      resize10(),    tf2onnx_like()};
    for (const auto& [name, shape] :
         std::vector<std::pair<std::string, Shape>>{{"x3_12", {6, 3, 12, 12}},
                                                    {"x3_10", {6, 3, 10, 10}},
                                                    {"x4_6", {6, 4, 6, 6}},
                                                    {"x3_8", {6, 3, 8, 8}},
                                                    {"x3_6", {6, 3, 6, 6}}}) {
      Tensor x(shape, random_values(static_cast<size_t>(shape_numel(shape)), 77, -2.0f, 2.0f));
      ASSERT_TRUE(test::write_npy_f32(dir_ + "/" + name + ".npy", x));
    }
    ASSERT_TRUE(test::write_npy_i64(dir_ + "/labels.npy", {0, 1, 2, 3, 0, 1}));
  }
  // The npy: dataset spec of model m's input.
  static std::string data(size_t m) {
    static const char* inputs[] = {"x3_12", "x3_10", "x4_6", "x3_8", "x3_6", "x3_6", "x3_8"};
    return str_cat("npy:", dir_, "/", inputs[m], ".npy,", dir_, "/labels.npy");
  }
  static std::string dir_;
  static std::vector<std::string> models_;
};
std::string OrtCnnOps::dir_;
std::vector<std::string> OrtCnnOps::models_;

TEST_F(OrtCnnOps, EveryNewOperatorAgreesWithOnnxRuntime) {
  for (size_t m = 0; m < models_.size(); ++m) {
    for (const char* kernels : {"fast", "reference"}) {
      SCOPED_TRACE(models_[m] + " " + kernels);
      run_check(str_cat("GAMMAQ_KERNELS=", kernels), "ort_crosscheck.js", models_[m], data(m), "",
                dir_ + "/ort.log");
    }
  }
}

// The QDQ export of each model at w8a8 in ONNX Runtime against gammaq's simulation: the same
// top-1 on every image (HardSwish written for opset 13, the flattened Softmax of opset 9,
// Resize by scales, ConvTranspose's weight back in ONNX's layout, the NHWC input again).
TEST_F(OrtCnnOps, QdqExportsRunInOnnxRuntime) {
  for (size_t m = 0; m < models_.size(); ++m) {
    SCOPED_TRACE(models_[m]);
    run_check("", "qdq_check.js", models_[m], data(m), str_cat("--calib ", data(m), " --max-gap 0"),
              dir_ + "/qdq.log");
  }
}

}  // namespace
}  // namespace gammaq
