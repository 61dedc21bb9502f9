// Reference kernels of the operators real CNN exports bring (issue 18): activations, binary
// operators with broadcasting, padding modes, data movement, softmax on any axis, global max
// pooling -- against values derived by hand.
#include <gtest/gtest.h>

#include <cmath>

#include "kernels/kernels.h"

namespace gammaq::kernels {
namespace {

std::vector<float> unary(OpType op, std::vector<float> x, Attributes a = {}) {
  std::vector<float> y(x.size());
  unary_f32_ref(op, a, x, y);
  return y;
}

TEST(ReferenceCnnOps, Activations) {
  Attributes hs;  // torch's hardsigmoid: alpha 1/6, beta 1/2
  hs.alpha = 1.0f / 6.0f;
  hs.beta = 0.5f;
  EXPECT_EQ(unary(OpType::HardSigmoid, {-4, -3, 0, 3, 4}, hs),
            (std::vector<float>{0, 0, 0.5f, 1, 1}));
  // HardSwish: x * relu6(x + 3) / 6: -3 -> 0, -1 -> -1/3, 1 -> 2/3, 3 -> 3.
  const auto hw = unary(OpType::HardSwish, {-4, -1, 1, 3}, hs);
  EXPECT_FLOAT_EQ(hw[0], 0.0f);
  EXPECT_FLOAT_EQ(hw[1], -1.0f / 3.0f);
  EXPECT_FLOAT_EQ(hw[2], 2.0f / 3.0f);
  EXPECT_FLOAT_EQ(hw[3], 3.0f);
  Attributes onnx_default;  // ONNX HardSigmoid defaults: alpha 0.2, beta 0.5
  onnx_default.alpha = 0.2f;
  onnx_default.beta = 0.5f;
  EXPECT_FLOAT_EQ(unary(OpType::HardSigmoid, {1.0f}, onnx_default)[0], 0.7f);
  const auto t = unary(OpType::Tanh, {0.0f, std::log(2.0f)});  // tanh(ln 2) = 3/5
  EXPECT_FLOAT_EQ(t[0], 0.0f);
  EXPECT_FLOAT_EQ(t[1], 0.6f);
  Attributes elu;
  elu.alpha = 2.0f;
  const auto e = unary(OpType::Elu, {1.5f, -std::log(2.0f)}, elu);  // 2 * (1/2 - 1) = -1
  EXPECT_FLOAT_EQ(e[0], 1.5f);
  EXPECT_FLOAT_EQ(e[1], -1.0f);
  const auto s = unary(OpType::SiLU, {0.0f, std::log(3.0f)});  // ln3 * 3/4
  EXPECT_FLOAT_EQ(s[0], 0.0f);
  EXPECT_FLOAT_EQ(s[1], std::log(3.0f) * 0.75f);
}

TEST(ReferenceCnnOps, BinaryOperatorsBroadcast) {
  const std::vector<float> x = {1, 2, 3, 4};  // [1, 2, 1, 2]
  const std::vector<float> c = {4, -2};       // [2, 1, 1]: one per channel
  std::vector<float> y(4);
  auto run = [&](OpType op, Attributes a = {}) {
    binary_f32_ref(op, a, {1, 2, 1, 2}, x.data(), {2, 1, 1}, c.data(), {1, 2, 1, 2}, y.data());
    return y;
  };
  EXPECT_EQ(run(OpType::Sub), (std::vector<float>{-3, -2, 5, 6}));
  EXPECT_EQ(run(OpType::Div), (std::vector<float>{0.25f, 0.5f, -1.5f, -2}));
  Attributes rev;
  rev.reversed = true;  // c - x and c / x
  EXPECT_EQ(run(OpType::Sub, rev), (std::vector<float>{3, 2, -5, -6}));
  EXPECT_EQ(run(OpType::Div, rev), (std::vector<float>{4, 2, -2.0f / 3.0f, -0.5f}));
  EXPECT_EQ(run(OpType::Max), (std::vector<float>{4, 4, 3, 4}));
  EXPECT_EQ(run(OpType::Min), (std::vector<float>{1, 2, -2, -2}));
  const std::vector<float> xn = {-1, 2, -3, 4};  // PRelu: slope per channel on negatives
  binary_f32_ref(OpType::PRelu, Attributes{}, {1, 2, 1, 2}, xn.data(), {2, 1, 1}, c.data(),
                 {1, 2, 1, 2}, y.data());
  EXPECT_EQ(y, (std::vector<float>{-4, 2, 6, 4}));
  // Squeeze-excitation: [1, 2, 2, 2] x [1, 2, 1, 1], an activation per channel.
  const std::vector<float> fm = {1, 2, 3, 4, 5, 6, 7, 8}, gate = {0.5f, 2.0f};
  std::vector<float> se(8);
  binary_f32_ref(OpType::Mul, Attributes{}, {1, 2, 2, 2}, fm.data(), {1, 2, 1, 1}, gate.data(),
                 {1, 2, 2, 2}, se.data());
  EXPECT_EQ(se, (std::vector<float>{0.5f, 1, 1.5f, 2, 10, 12, 14, 16}));
}

TEST(ReferenceCnnOps, PadModes) {
  const std::vector<float> x = {1, 2, 3};  // [1, 1, 1, 3], W padded by 2 left and 2 right
  const std::vector<int64_t> pads = {0, 0, 0, 2, 0, 0, 0, 2};
  std::vector<float> y(7);
  pad_f32_ref({1, 1, 1, 3}, pads, 0.0f, x.data(), {1, 1, 1, 7}, y.data(), kPadReflect);
  EXPECT_EQ(y, (std::vector<float>{3, 2, 1, 2, 3, 2, 1}));
  pad_f32_ref({1, 1, 1, 3}, pads, 0.0f, x.data(), {1, 1, 1, 7}, y.data(), kPadEdge);
  EXPECT_EQ(y, (std::vector<float>{1, 1, 1, 2, 3, 3, 3}));
  pad_f32_ref({1, 1, 1, 3}, pads, 7.0f, x.data(), {1, 1, 1, 7}, y.data(), kPadConstant);
  EXPECT_EQ(y, (std::vector<float>{7, 7, 1, 2, 3, 7, 7}));
}

TEST(ReferenceCnnOps, TransposeSliceSoftmaxGlobalMax) {
  // Channel shuffle of 4 channels in 2 groups: [1, 2, 2, 1] -> perm [0, 2, 1, 3].
  const std::vector<float> x = {0, 1, 2, 3};
  std::vector<float> y(4);
  const std::vector<int64_t> perm = {0, 2, 1, 3};
  transpose_f32_ref({1, 2, 2, 1}, perm, x.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{0, 2, 1, 3}));
  // Slice of [1, 5] from index 4 down by step -2: 4, 2, 0.
  const std::vector<float> s = {10, 11, 12, 13, 14};
  std::vector<float> sy(3);
  const std::vector<int64_t> starts = {0, 4}, steps = {1, -2};
  slice_f32_ref({1, 5}, starts, steps, {1, 3}, s.data(), sy.data());
  EXPECT_EQ(sy, (std::vector<float>{14, 12, 10}));
  // Softmax over the middle axis of [1, 2, 2]: per column.
  const std::vector<float> m = {0, 1, std::log(3.0f), 1};
  std::vector<float> my(4);
  softmax_axis_f32_ref(1, 2, 2, m.data(), my.data());
  EXPECT_NEAR(my[0], 0.25, 1e-7);
  EXPECT_NEAR(my[2], 0.75, 1e-7);
  EXPECT_NEAR(my[1], 0.5, 1e-7);
  EXPECT_NEAR(my[3], 0.5, 1e-7);
  const std::vector<float> g = {1, -5, 3, 2, -1, -2, -3, -4};  // [1, 2, 2, 2]
  std::vector<float> gy(2);
  global_maxpool_f32_ref(1, 2, 4, g.data(), gy.data());
  EXPECT_EQ(gy, (std::vector<float>{3, -1}));
}

// Resize along W of a [1, 1, 1, in] row (H kept), by mode, coordinate transform and rounding.
std::vector<float> resize_row(std::vector<float> x, int64_t out, int mode, int coord,
                              int nearest = kNearestRoundPreferFloor, float scale = 0.0f) {
  Attributes a;
  a.resize_mode = mode;
  a.coord_mode = coord;
  a.nearest_mode = nearest;
  const auto in = static_cast<int64_t>(x.size());
  a.scales = {1.0f, scale > 0 ? scale : static_cast<float>(out) / static_cast<float>(in)};
  std::vector<float> y(static_cast<size_t>(out));
  resize_f32_ref(a, {1, 1, 1, in}, {1, 1, 1, out}, x.data(), y.data());
  return y;
}

TEST(ReferenceCnnOps, ResizeModes) {
  // Nearest x2 (torch's Upsample): asymmetric, floor: each value twice, in both axes.
  Attributes up;
  up.coord_mode = kCoordAsymmetric;
  up.nearest_mode = kNearestFloor;
  up.scales = {2.0f, 2.0f};
  const std::vector<float> x = {1, 2, 3, 4};
  std::vector<float> y(16);
  resize_f32_ref(up, {1, 1, 2, 2}, {1, 1, 4, 4}, x.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}));
  // Linear, half_pixel x2 of [0, 4]: x_original -0.25, 0.25, 0.75, 1.25, clamped to [0, 1].
  EXPECT_EQ(resize_row({0, 4}, 4, kResizeLinear, kCoordHalfPixel),
            (std::vector<float>{0, 1, 3, 4}));
  // align_corners 3 -> 5: x_original = o * 2 / 4.
  EXPECT_EQ(resize_row({0, 2, 4}, 5, kResizeLinear, kCoordAlignCorners),
            (std::vector<float>{0, 1, 2, 3, 4}));
  // asymmetric x2: o / 2 = 0, 0.5, 1, 1.5 (clamped to 1).
  EXPECT_EQ(resize_row({0, 4}, 4, kResizeLinear, kCoordAsymmetric),
            (std::vector<float>{0, 2, 4, 4}));
  // pytorch_half_pixel to one pixel reads coordinate 0; half_pixel reads the middle.
  EXPECT_EQ(resize_row({8, 0, 0, 4}, 1, kResizeLinear, kCoordPytorchHalfPixel),
            (std::vector<float>{8}));
  EXPECT_EQ(resize_row({8, 0, 0, 4}, 1, kResizeLinear, kCoordHalfPixel), (std::vector<float>{0}));
  // Nearest half_pixel /2: x_original 0.5 and 2.5, ties, which the rounding mode breaks.
  const std::vector<float> four = {10, 11, 12, 13};
  EXPECT_EQ(resize_row(four, 2, kResizeNearest, kCoordHalfPixel, kNearestRoundPreferFloor),
            (std::vector<float>{10, 12}));
  EXPECT_EQ(resize_row(four, 2, kResizeNearest, kCoordHalfPixel, kNearestRoundPreferCeil),
            (std::vector<float>{11, 13}));
  // Upsample / Resize-10 shrinking by 0.6 (ceil): x / 0.6 = 0, 1.67 -> 0, 2 (ONNX's own test).
  EXPECT_EQ(resize_row({1, 2, 3, 4}, 2, kResizeNearest, kCoordAsymmetric, kNearestCeil, 0.6f),
            (std::vector<float>{1, 3}));
  // tf_half_pixel_for_nearest x2: (o + 0.5) / 2 = 0.25, 0.75, 1.25, 1.75 -> 0, 1, 1, 1 (clamped).
  EXPECT_EQ(resize_row({5, 6}, 4, kResizeNearest, kCoordTfHalfPixelForNearest),
            (std::vector<float>{5, 6, 6, 6}));
}

// ConvTranspose scatters each input value times the kernel: stride 2 and kernel 2 tile the
// output with x * w blocks; stride 1 overlaps them (1-D: x0 w0, x0 w1 + x1 w0, x1 w1); a pad
// crops the border; output_padding adds a row that only the bias reaches.
TEST(ReferenceCnnOps, ConvTransposeScatters) {
  Attributes a;
  a.kernel = {2, 2};
  a.strides = {2, 2};
  a.pads = {0, 0, 0, 0};
  a.dilations = {1, 1};
  const std::vector<float> x = {1, 2, 3, 4}, w = {1, 10, 100, 1000};  // w: [1, 1, 2, 2]
  std::vector<float> y(16);
  WindowGeom g = window_geom(a, {1, 1, 2, 2}, {1, 1, 4, 4});
  g.transposed = true;
  conv2d_f32_ref(g, x.data(), w.data(), nullptr, y.data(), a);
  EXPECT_EQ(y, (std::vector<float>{1, 10, 2, 20, 100, 1000, 200, 2000, 3, 30, 4, 40, 300, 3000, 400,
                                   4000}));
  a.kernel = {1, 2};
  a.strides = {1, 1};
  const std::vector<float> row = {2, 3}, k = {1, 10}, bias = {0.5f};
  std::vector<float> r(3);
  g = window_geom(a, {1, 1, 1, 2}, {1, 1, 1, 3});
  g.transposed = true;
  conv2d_f32_ref(g, row.data(), k.data(), bias.data(), r.data(), a);
  EXPECT_EQ(r, (std::vector<float>{2.5f, 23.5f, 30.5f}));
  // Left pad 1 drops the first output; output_padding 1 appends one: [23, 30, 0] + bias.
  a.pads = {0, 1, 0, 0};
  g = window_geom(a, {1, 1, 1, 2}, {1, 1, 1, 3});
  g.transposed = true;
  conv2d_f32_ref(g, row.data(), k.data(), bias.data(), r.data(), a);
  EXPECT_EQ(r, (std::vector<float>{23.5f, 30.5f, 0.5f}));
}

}  // namespace
}  // namespace gammaq::kernels
