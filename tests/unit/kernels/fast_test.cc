// Every fast (oneDNN) kernel against its reference twin over a seeded sweep of shapes.
#include "kernels/fast/fast.h"

#include <gtest/gtest.h>

#include <random>

#include "gammaq/error.h"
#include "kernels/kernels.h"
#include "support/compare.h"
#include "support/onnx_builder.h"

namespace gammaq::kernels {
namespace {

struct ConvCase {
  int64_t n, c, h, w, m, k, s, p, d, group;
  Activation act;
};

// A graph with one node `op` over input [n, c, h, w] and the given output shape.
struct OneNode {
  Graph g;
  Node& node() { return g.nodes[0]; }
};

OneNode one_node(OpType op, const Shape& x, const Shape& y, Attributes a,
                 std::vector<Tensor> constants) {
  OneNode o;
  Value in{"x", x, false, {}, -1};
  o.g.input = o.g.add_value(in);
  Node n;
  n.name = "node";
  n.op = op;
  n.attrs = std::move(a);
  n.inputs = {o.g.input};
  for (size_t i = 0; i < constants.size(); ++i) {
    Value c{str_cat("c", i), constants[i].shape, true, constants[i], -1};
    n.inputs.push_back(o.g.add_value(c));
  }
  Value out{"y", y, false, {}, 0};
  o.g.output = o.g.add_value(out);
  n.outputs = {o.g.output};
  o.g.nodes.push_back(n);
  return o;
}

TEST(FastConv, AgreesWithReferenceOverSweep) {
  const ConvCase cases[] = {
      {1, 1, 28, 28, 8, 3, 1, 1, 1, 1, Activation::Relu},
      {3, 13, 17, 11, 7, 3, 2, 1, 1, 1, Activation::None},
      {2, 16, 9, 9, 16, 3, 1, 1, 1, 16, Activation::Clip},  // depthwise
      {2, 8, 10, 10, 12, 5, 1, 2, 1, 4, Activation::LeakyRelu},
      {1, 6, 12, 12, 4, 3, 1, 2, 2, 1, Activation::None},  // dilated
      {4, 32, 7, 7, 64, 1, 1, 0, 1, 1, Activation::Relu},
      {2, 1, 28, 28, 48, 7, 2, 3, 1, 1, Activation::Relu},
      {1, 127, 5, 5, 3, 3, 1, 0, 1, 1, Activation::None},
  };
  uint32_t seed = 100;
  for (const ConvCase& t : cases) {
    SCOPED_TRACE(testing::Message()
                 << "conv n=" << t.n << " c=" << t.c << " h=" << t.h << " w=" << t.w << " m=" << t.m
                 << " k=" << t.k << " s=" << t.s << " p=" << t.p << " d=" << t.d
                 << " group=" << t.group << " seed=" << seed);
    Attributes a;
    a.kernel = {t.k, t.k};
    a.strides = {t.s, t.s};
    a.pads = {t.p, t.p, t.p, t.p};
    a.dilations = {t.d, t.d};
    a.group = t.group;
    a.activation = t.act;
    a.act_min = 0.0f;
    a.act_max = 0.5f;
    a.act_alpha = 0.1f;
    const int64_t ek = t.d * (t.k - 1) + 1;
    const int64_t oh = (t.h + 2 * t.p - ek) / t.s + 1, ow = (t.w + 2 * t.p - ek) / t.s + 1;
    const Shape xs{t.n, t.c, t.h, t.w}, ys{t.n, t.m, oh, ow};
    Tensor w(Shape{t.m, t.c / t.group, t.k, t.k},
             test::random_values(t.m * t.c / t.group * t.k * t.k, seed++));
    Tensor b(Shape{t.m}, test::random_values(t.m, seed++));
    Tensor x(xs, test::random_values(shape_numel(xs), seed++));
    OneNode o = one_node(OpType::Conv, xs, ys, a, {w, b});
    std::vector<float> ref(shape_numel(ys)), got(shape_numel(ys));
    conv2d_f32_ref(window_geom(a, xs, ys), x.data.data(), w.data.data(), b.data.data(), ref.data(),
                   a);
    FastGraph fast(o.g, t.n);
    got = fast.run(x).data;
    EXPECT_NE(fast.impl_name(0), "ref");
    EXPECT_TRUE(test::agree(got, ref, double(t.c / t.group * t.k * t.k)));
  }
}

TEST(FastGemm, AgreesWithReference) {
  uint32_t seed = 7;
  for (auto [n, k, out] : {std::tuple{1, 17, 10}, {64, 576, 256}, {3, 160, 10}, {5, 1, 1}}) {
    SCOPED_TRACE(testing::Message() << "gemm n=" << n << " k=" << k << " out=" << out);
    Tensor w(Shape{out, k}, test::random_values(out * k, seed++));
    Tensor b(Shape{out}, test::random_values(out, seed++));
    Tensor x(Shape{n, k}, test::random_values(n * k, seed++));
    Attributes a;
    a.activation = Activation::Relu;
    OneNode o = one_node(OpType::Gemm, {n, k}, {n, out}, a, {w, b});
    std::vector<float> ref(n * out), got(n * out);
    gemm_f32_ref(n, k, out, x.data.data(), w.data.data(), b.data.data(), ref.data(), a);
    FastGraph fast(o.g, n);
    got = fast.run(x).data;
    EXPECT_TRUE(test::agree(got, ref, k));
  }
}

TEST(FastPoolAndLrn, AgreeWithReference) {
  uint32_t seed = 42;
  struct PoolCase {
    OpType op;
    int64_t h, k, s, p;
    bool ceil, include_pad;
  };
  for (const PoolCase& t : {PoolCase{OpType::MaxPool, 28, 2, 2, 0, false, false},
                            PoolCase{OpType::MaxPool, 14, 3, 2, 1, false, false},
                            PoolCase{OpType::MaxPool, 14, 3, 1, 1, false, false},
                            PoolCase{OpType::MaxPool, 7, 3, 2, 0, true, false},
                            PoolCase{OpType::AveragePool, 7, 7, 1, 0, false, false},
                            PoolCase{OpType::AveragePool, 9, 3, 2, 1, false, false},
                            PoolCase{OpType::AveragePool, 9, 3, 2, 1, false, true},
                            PoolCase{OpType::AveragePool, 8, 3, 2, 0, true, false}}) {
    SCOPED_TRACE(testing::Message() << op_name(t.op) << " h=" << t.h << " k=" << t.k << " s=" << t.s
                                    << " p=" << t.p << " ceil=" << t.ceil);
    Attributes a;
    a.kernel = {t.k, t.k};
    a.strides = {t.s, t.s};
    a.pads = {t.p, t.p, t.p, t.p};
    a.dilations = {1, 1};
    a.ceil_mode = t.ceil;
    a.count_include_pad = t.include_pad;
    const int64_t span = t.h + 2 * t.p - t.k;
    const int64_t oh = (t.ceil ? (span + t.s - 1) / t.s : span / t.s) + 1;
    const Shape xs{3, 5, t.h, t.h}, ys{3, 5, oh, oh};
    Tensor x(xs, test::random_values(shape_numel(xs), seed++));
    OneNode o = one_node(t.op, xs, ys, a, {});
    std::vector<float> ref(shape_numel(ys)), got(shape_numel(ys));
    if (t.op == OpType::MaxPool)
      maxpool2d_f32_ref(window_geom(a, xs, ys), x.data.data(), ref.data());
    else
      avgpool2d_f32_ref(window_geom(a, xs, ys), t.include_pad, x.data.data(), ref.data());
    FastGraph fast(o.g, 3);
    got = fast.run(x).data;  // oneDNN, or the reference fallback where oneDNN differs
    EXPECT_TRUE(test::agree(got, ref, t.k * t.k));
  }
  Attributes a;
  a.size = 5;
  a.alpha = 1e-2f;
  a.beta = 0.75f;
  a.bias = 2.0f;
  const Shape xs{2, 24, 14, 14};
  Tensor x(xs, test::random_values(shape_numel(xs), 9, -3.0f, 3.0f));
  OneNode o = one_node(OpType::LRN, xs, xs, a, {});
  std::vector<float> ref(shape_numel(xs)), got(shape_numel(xs));
  lrn_f32_ref(2, 24, 196, a, x.data.data(), ref.data());
  FastGraph fast(o.g, 2);
  got = fast.run(x).data;
  EXPECT_NE(fast.impl_name(0), "ref");
  EXPECT_TRUE(test::agree(got, ref, 5));
}

// The operators of real CNN exports: oneDNN (never the reference fallback) agrees with the
// reference kernel.
TEST(FastCnnOps, AgreeWithReference) {
  struct Case {
    OpType op;
    Shape xs, ys;
    Attributes a;
    std::vector<Tensor> constants;
  };
  const Shape xs{2, 6, 5, 7};
  Attributes hsig, elu, rev, tr, sl, sm, sm_tail;
  hsig.alpha = 0.2f;
  hsig.beta = 0.5f;
  Attributes hswish = hsig;
  hswish.alpha = 1.0f / 6.0f;
  elu.alpha = 0.7f;
  rev.reversed = true;
  tr.perm = {0, 2, 3, 1};
  sl.starts = {0, 1, 0, 2};
  sl.steps = {1, 1, 1, 1};
  sm.axis = 1;
  sm_tail.axis = 1;
  sm_tail.flatten_tail = true;
  const Tensor per_channel(Shape{6, 1, 1}, test::random_values(6, 3, 0.5f, 2.0f));
  const Tensor scalar(Shape{}, std::vector<float>{3.0f});
  // Resize: nearest x2 (asymmetric floor, torch), nearest x3 by half_pixel in H only, linear
  // half_pixel x2 / x3 and shrinking to 3 x 4 (sizes: scale = out / in).
  Attributes nearest2, nearest_half, linear, linear_down;
  nearest2.coord_mode = kCoordAsymmetric;
  nearest2.nearest_mode = kNearestFloor;
  nearest2.scales = {2.0f, 2.0f};
  nearest_half.scales = {3.0f, 1.0f};
  linear.resize_mode = kResizeLinear;
  linear.scales = {2.0f, 3.0f};
  linear_down = linear;
  linear_down.coord_mode = kCoordPytorchHalfPixel;
  linear_down.scales = {3.0f / 5.0f, 4.0f / 7.0f};
  Attributes deconv, deconv_g;
  deconv.kernel = {3, 3};
  deconv.strides = {2, 2};
  deconv.pads = {1, 1, 1, 1};
  deconv.dilations = {1, 1};
  deconv.activation = Activation::Relu;
  const Tensor deconv_w(Shape{4, 6, 3, 3}, test::random_values(216, 7, -0.5f, 0.5f));
  const Tensor deconv_b(Shape{4}, test::random_values(4, 8, -0.5f, 0.5f));
  deconv_g.kernel = {2, 3};
  deconv_g.strides = {1, 1};
  deconv_g.dilations = {2, 1};
  // H: (5 - 1) + (2 - 1) * 2 + 1 = 7; W: (7 - 1) + 2 + 1 - 1 (left pad) = 8.
  deconv_g.pads = {0, 1, 0, 0};
  deconv_g.group = 3;
  const Tensor deconv_gw(Shape{6, 2, 2, 3}, test::random_values(72, 9, -0.5f, 0.5f));
  Attributes bn;
  bn.epsilon = 1e-3f;
  Attributes bn_relu = bn;  // DenseNet's BN -> ReLU, fused
  bn_relu.activation = Activation::Relu;
  const Tensor bn_scale(Shape{6}, test::random_values(6, 11, 0.5f, 1.5f));
  const Tensor bn_shift(Shape{6}, test::random_values(6, 12, -1.0f, 1.0f));
  const Tensor bn_mean(Shape{6}, test::random_values(6, 13, -1.0f, 1.0f));
  const Tensor bn_var(Shape{6}, test::random_values(6, 14, 0.2f, 2.0f));
  const std::vector<Case> cases = {
      {OpType::HardSigmoid, xs, xs, hsig, {}},
      {OpType::HardSwish, xs, xs, hswish, {}},
      {OpType::Tanh, xs, xs, {}, {}},
      {OpType::Elu, xs, xs, elu, {}},
      {OpType::SiLU, xs, xs, {}, {}},
      {OpType::Sub, xs, xs, {}, {per_channel}},
      {OpType::Sub, xs, xs, rev, {scalar}},
      {OpType::Div, xs, xs, {}, {per_channel}},
      {OpType::Max, xs, xs, {}, {scalar}},
      {OpType::Min, xs, xs, {}, {per_channel}},
      {OpType::PRelu, xs, xs, {}, {per_channel}},
      {OpType::Transpose, xs, {2, 5, 7, 6}, tr, {}},
      {OpType::Slice, xs, {2, 3, 5, 4}, sl, {}},
      {OpType::Softmax, xs, xs, sm, {}},
      {OpType::Softmax, xs, xs, sm_tail, {}},
      {OpType::GlobalMaxPool, xs, {2, 6, 1, 1}, {}, {}},
      {OpType::Resize, xs, {2, 6, 10, 14}, nearest2, {}},
      {OpType::Resize, xs, {2, 6, 15, 7}, nearest_half, {}},
      {OpType::Resize, xs, {2, 6, 10, 21}, linear, {}},
      {OpType::Resize, xs, {2, 6, 3, 4}, linear_down, {}},
      // ConvTranspose: stride 2, pads 1, output_padding 1 (5 -> 10, 7 -> 14), fused ReLU;
      // grouped (3 groups), dilated, a left pad only.
      {OpType::ConvTranspose, xs, {2, 4, 10, 14}, deconv, {deconv_w, deconv_b}},
      {OpType::ConvTranspose, xs, {2, 6, 7, 8}, deconv_g, {deconv_gw}},
      // A batch norm no convolution absorbs (DenseNet's, after a Concat).
      {OpType::BatchNormalization, xs, xs, bn, {bn_scale, bn_shift, bn_mean, bn_var}},
      {OpType::BatchNormalization, xs, xs, bn_relu, {bn_scale, bn_shift, bn_mean, bn_var}},
  };
  uint32_t seed = 500;
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << op_name(c.op) << (c.a.reversed ? " reversed" : ""));
    Tensor x(c.xs, test::random_values(shape_numel(c.xs), seed++, -4.0f, 4.0f));
    OneNode o = one_node(c.op, c.xs, c.ys, c.a, c.constants);
    if (c.op == OpType::Slice) o.node().attrs.reshape = {1, 3, 5, 4};
    std::vector<const Tensor*> in = {&x};
    for (const Tensor& t : c.constants) in.push_back(&t);
    Tensor ref(c.ys);
    run_node_reference(o.node(), in, ref);
    FastGraph fast(o.g, c.xs[0]);
    const Tensor got = fast.run(x);
    EXPECT_NE(fast.impl_name(0), "ref");
    EXPECT_TRUE(test::agree(got.data, ref.data, 8));
  }
}

}  // namespace
}  // namespace gammaq::kernels
