// Reference kernels against values derived by hand.
#include <gtest/gtest.h>

#include <cmath>

#include "kernels/kernels.h"

namespace gammaq::kernels {
namespace {

Attributes window(std::vector<int64_t> k, std::vector<int64_t> s, std::vector<int64_t> p,
                  std::vector<int64_t> d = {1, 1}) {
  Attributes a;
  a.kernel = k;
  a.strides = s;
  a.pads = p;
  a.dilations = d;
  return a;
}

TEST(ReferenceConv, TwoByTwoKernelNoPadding) {
  // x = [[1,2,3],[4,5,6],[7,8,9]], w = [[1,0],[0,-1]] -> y = x[i][j] - x[i+1][j+1] = -4
  const std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const std::vector<float> w = {1, 0, 0, -1};
  const float b = 0.5f;
  std::vector<float> y(4);
  Attributes a = window({2, 2}, {1, 1}, {0, 0, 0, 0});
  conv2d_f32_ref(window_geom(a, {1, 1, 3, 3}, {1, 1, 2, 2}), x.data(), w.data(), &b, y.data(), a);
  for (float v : y) EXPECT_FLOAT_EQ(v, -3.5f);
}

TEST(ReferenceConv, PaddingStrideAndRelu) {
  // 3x3 ones kernel, pad 1, stride 2 over a 3x3 input of ones: corners see 4 ones, y 2x2.
  const std::vector<float> x(9, 1.0f), w(9, 1.0f);
  std::vector<float> y(4);
  Attributes a = window({3, 3}, {2, 2}, {1, 1, 1, 1});
  const float b = -5.0f;
  a.activation = Activation::Relu;
  conv2d_f32_ref(window_geom(a, {1, 1, 3, 3}, {1, 1, 2, 2}), x.data(), w.data(), &b, y.data(), a);
  for (float v : y) EXPECT_FLOAT_EQ(v, 0.0f);  // 4 - 5 < 0, clamped by the fused Relu
  a.activation = Activation::None;
  conv2d_f32_ref(window_geom(a, {1, 1, 3, 3}, {1, 1, 2, 2}), x.data(), w.data(), nullptr, y.data(),
                 a);
  for (float v : y) EXPECT_FLOAT_EQ(v, 4.0f);
}

TEST(ReferenceConv, DepthwiseUsesOneChannelPerGroup) {
  // Two channels, group 2, 1x1 kernels 2 and 3: y[c] = w[c] * x[c].
  const std::vector<float> x = {1, 2, 3, 4, 10, 20, 30, 40};
  const std::vector<float> w = {2, 3};
  std::vector<float> y(8);
  Attributes a = window({1, 1}, {1, 1}, {0, 0, 0, 0});
  a.group = 2;
  conv2d_f32_ref(window_geom(a, {1, 2, 2, 2}, {1, 2, 2, 2}), x.data(), w.data(), nullptr, y.data(),
                 a);
  EXPECT_EQ(y, (std::vector<float>{2, 4, 6, 8, 30, 60, 90, 120}));
}

TEST(ReferenceConv, DilationSkipsPixels) {
  // 1x5 row, kernel 1x2 dilated by 3: y[j] = x[j] + x[j+3].
  const std::vector<float> x = {1, 2, 3, 4, 5}, w = {1, 1};
  std::vector<float> y(2);
  Attributes a = window({1, 2}, {1, 1}, {0, 0, 0, 0}, {1, 3});
  conv2d_f32_ref(window_geom(a, {1, 1, 1, 5}, {1, 1, 1, 2}), x.data(), w.data(), nullptr, y.data(),
                 a);
  EXPECT_EQ(y, (std::vector<float>{5, 7}));
}

TEST(ReferenceGemm, MatrixVectorWithBias) {
  const std::vector<float> x = {1, 2, 3, 1, 0, -1};  // 2 rows
  const std::vector<float> w = {1, 1, 1, 0, 1, 0};   // 2 outputs
  const std::vector<float> b = {10, 20};
  std::vector<float> y(4);
  gemm_f32_ref(2, 3, 2, x.data(), w.data(), b.data(), y.data(), Attributes{});
  EXPECT_EQ(y, (std::vector<float>{16, 22, 10, 20}));
}

TEST(ReferencePool, MaxAndAverageWithPadding) {
  const std::vector<float> x = {1, 2, 3, 4};  // 2x2
  std::vector<float> y(4);
  Attributes a = window({2, 2}, {1, 1}, {1, 1, 0, 0});  // pad top/left: output 2x2
  maxpool2d_f32_ref(window_geom(a, {1, 1, 2, 2}, {1, 1, 2, 2}), x.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{1, 2, 3, 4}));
  avgpool2d_f32_ref(window_geom(a, {1, 1, 2, 2}, {1, 1, 2, 2}), false, x.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{1, 1.5f, 2, 2.5f}));
  avgpool2d_f32_ref(window_geom(a, {1, 1, 2, 2}, {1, 1, 2, 2}), true, x.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{0.25f, 0.75f, 1, 2.5f}));
  global_avgpool_f32_ref(1, 1, 4, x.data(), y.data());
  EXPECT_FLOAT_EQ(y[0], 2.5f);
}

TEST(ReferenceLrn, MatchesTheFormulaByHand) {
  // 3 channels, 1 pixel, size 3: channel 1 sees all three squares.
  const std::vector<float> x = {1, 2, 3};
  std::vector<float> y(3);
  Attributes a;
  a.size = 3;
  a.alpha = 0.3f;
  a.beta = 0.5f;
  a.bias = 1.0f;
  lrn_f32_ref(1, 3, 1, a, x.data(), y.data());
  EXPECT_NEAR(y[0], 1.0 / std::sqrt(1.0 + 0.1 * (1 + 4)), 1e-6);
  EXPECT_NEAR(y[1], 2.0 / std::sqrt(1.0 + 0.1 * (1 + 4 + 9)), 1e-6);
  EXPECT_NEAR(y[2], 3.0 / std::sqrt(1.0 + 0.1 * (4 + 9)), 1e-6);
}

TEST(ReferenceEltwise, BroadcastAddPerChannelAndClip) {
  const std::vector<float> x = {1, 2, 3, 4};  // [1, 2, 1, 2]
  const std::vector<float> c = {10, -10};     // [2, 1, 1]
  std::vector<float> y(4);
  Attributes a;
  a.activation = Activation::Clip;
  a.act_min = 0.0f;
  a.act_max = 6.0f;
  binary_f32_ref(OpType::Add, a, {1, 2, 1, 2}, x.data(), {2, 1, 1}, c.data(), {1, 2, 1, 2},
                 y.data());
  EXPECT_EQ(y, (std::vector<float>{6, 6, 0, 0}));
  binary_f32_ref(OpType::Mul, Attributes{}, {1, 2, 1, 2}, x.data(), {2, 1, 1}, c.data(),
                 {1, 2, 1, 2}, y.data());
  EXPECT_EQ(y, (std::vector<float>{10, 20, -30, -40}));
}

TEST(ReferenceEltwise, SoftmaxPadConcatBatchnorm) {
  const std::vector<float> x = {0, std::log(3.0f)};
  std::vector<float> y(2);
  softmax_f32_ref(1, 2, x.data(), y.data());
  EXPECT_NEAR(y[0], 0.25, 1e-7);
  EXPECT_NEAR(y[1], 0.75, 1e-7);

  const std::vector<float> p = {1, 2};  // [1,1,1,2] padded by 1 on the left of W, value 9
  std::vector<float> py(3);
  pad_f32_ref({1, 1, 1, 2}, {0, 0, 0, 1, 0, 0, 0, 0}, 9.0f, p.data(), {1, 1, 1, 3}, py.data());
  EXPECT_EQ(py, (std::vector<float>{9, 1, 2}));

  const std::vector<float> c0 = {1, 2}, c1 = {3, 4, 5, 6};  // [2,1] and [2,2], axis 1
  std::vector<float> cy(6);
  const Shape shapes[] = {{2, 1}, {2, 2}};
  const float* ptrs[] = {c0.data(), c1.data()};
  concat_f32_ref(1, shapes, ptrs, {2, 3}, cy.data());
  EXPECT_EQ(cy, (std::vector<float>{1, 3, 4, 2, 5, 6}));

  const float scale = 2, bias = 1, mean = 3, var = 3;  // (x-3)*2/sqrt(4)+1 = x - 2
  const std::vector<float> bx = {5, 7};
  std::vector<float> by(2);
  batchnorm_f32_ref(1, 1, 2, &scale, &bias, &mean, &var, 1.0f, bx.data(), by.data());
  EXPECT_FLOAT_EQ(by[0], 3.0f);
  EXPECT_FLOAT_EQ(by[1], 5.0f);
}

}  // namespace
}  // namespace gammaq::kernels
