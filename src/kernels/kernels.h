// Kernels: reference (plain loops, the definition of correct) and fast (oneDNN) float
// kernels. Shapes are validated before a kernel is called; kernels run blind and never throw.
// Layout everywhere: NCHW, row-major.
//
// Reference kernels accumulate dot products in double: they are the yardstick the fast
// kernels and ONNX Runtime are compared with, and (later) the fixed-point simulation, whose
// integer products must be summed exactly.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "gammaq/graph.h"
#include "quant/format.h"
#include "quant/simulation.h"

namespace gammaq::kernels {

// Geometry of a 2-D convolution or pooling window over an NCHW batch.
struct WindowGeom {
  int64_t n = 1, c = 1, h = 1, w = 1;  // input
  int64_t m = 1, oh = 1, ow = 1;       // output channels (conv) and size
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1;
  int64_t pt = 0, pl = 0, pb = 0, pr = 0;  // pads: top, left, bottom, right
  int64_t group = 1;
  // ConvTranspose: output o gathers input i where o = i * s - p + k * d (the weight laid out
  // as a convolution's, [M, C/group, kh, kw]).
  bool transposed = false;
};

// Builds the geometry of `node` (Conv or pooling) for input shape x (NCHW) and output y.
[[nodiscard]] WindowGeom window_geom(const Attributes& a, const Shape& x, const Shape& y);

// Applies a fused activation to one value.
[[nodiscard]] inline float activate(float v, const Attributes& a) noexcept {
  switch (a.activation) {
    case Activation::None: return v;
    case Activation::Relu: return v > 0.0f ? v : 0.0f;
    case Activation::Clip: return v < a.act_min ? a.act_min : (v > a.act_max ? a.act_max : v);
    case Activation::LeakyRelu: return v >= 0.0f ? v : v * a.act_alpha;
    case Activation::Sigmoid: return 1.0f / (1.0f + __builtin_expf(-v));
  }
  return v;
}

// A fused ReLU/Clip applied in double (the simulation's exact accumulators); other fused
// activations pass through (the integer engine refuses them).
[[nodiscard]] inline double activate_exact(double v, const Attributes& a) noexcept {
  switch (a.activation) {
    case Activation::Relu: return v > 0.0 ? v : 0.0;
    case Activation::Clip:
      return v < a.act_min ? a.act_min : (v > a.act_max ? static_cast<double>(a.act_max) : v);
    default: return v;
  }
}

// ---------------------------------------------------------------- reference kernels (f32)
// Threads: each kernel may split the batch over OpenMP threads; results do not depend on the
// thread count.

// y[n,m,oh,ow] = act(b[m] + sum w[m,c',kh,kw] * x[n,g*C'+c', ...]); b may be null.
void conv2d_f32_ref(const WindowGeom& g, const float* x, const float* w, const float* b, float* y,
                    const Attributes& a) noexcept;
// y[n,o] = act(b[o] + sum_k w[o,k] x[n,k]); b may be null.
void gemm_f32_ref(int64_t n, int64_t k, int64_t out, const float* x, const float* w, const float* b,
                  float* y, const Attributes& a) noexcept;
void maxpool2d_f32_ref(const WindowGeom& g, const float* x, float* y) noexcept;
void avgpool2d_f32_ref(const WindowGeom& g, bool count_include_pad, const float* x,
                       float* y) noexcept;
void global_avgpool_f32_ref(int64_t n, int64_t c, int64_t hw, const float* x, float* y) noexcept;
void global_maxpool_f32_ref(int64_t n, int64_t c, int64_t hw, const float* x, float* y) noexcept;
// ONNX LRN: y = x / (bias + alpha/size * sum_{c' in window} x[c']^2)^beta.
void lrn_f32_ref(int64_t n, int64_t c, int64_t hw, const Attributes& a, const float* x,
                 float* y) noexcept;
// Elementwise activation (Relu, Clip, LeakyRelu, Sigmoid as `op`).
void unary_f32_ref(OpType op, const Attributes& a, std::span<const float> x,
                   std::span<float> y) noexcept;
struct OutputQuant;  // below

// The exact value of a binary operator (Add, Sub, Mul, Div, Max, Min, PRelu with b the slope);
// a.reversed swaps the operands of Sub and Div (the constant was first: b - a, b / a).
[[nodiscard]] inline double binary_exact(OpType op, const Attributes& a, double x0,
                                         double x1) noexcept {
  switch (op) {
    case OpType::Add:
    case OpType::Sum: return x0 + x1;
    case OpType::Sub: return a.reversed ? x1 - x0 : x0 - x1;
    case OpType::Mul: return x0 * x1;
    case OpType::Div: return a.reversed ? x1 / x0 : x0 / x1;
    case OpType::Max: return x0 > x1 ? x0 : x1;
    case OpType::Min: return x0 < x1 ? x0 : x1;
    case OpType::PRelu: return x0 >= 0.0 ? x0 : x0 * x1;
    default: return x0;
  }
}
// y = act(x0 op x1) with numpy broadcasting of both inputs to shape ys; each value computed in
// double and rounded once to float.
void binary_f32_ref(OpType op, const Attributes& a, const Shape& s0, const float* x0,
                    const Shape& s1, const float* x1, const Shape& ys, float* y) noexcept;
// The same with each exact value rounded by the simulation's output format (its fused
// ReLU/Clip first): one rounding, as the integer engine's.
void binary_rounded_ref(OpType op, const Attributes& a, const Shape& s0, const float* x0,
                        const Shape& s1, const float* x1, const Shape& ys, float* y,
                        const OutputQuant& q) noexcept;
// Per-channel affine: y = (x - mean) * scale / sqrt(var + eps) + bias, channel axis 1.
void batchnorm_f32_ref(int64_t n, int64_t c, int64_t inner, const float* scale, const float* bias,
                       const float* mean, const float* var, float eps, const float* x,
                       float* y) noexcept;
// Softmax over the last axis of [rows, cols].
void softmax_f32_ref(int64_t rows, int64_t cols, const float* x, float* y) noexcept;
// Softmax over the middle axis of [outer, cols, inner] (ONNX Softmax on any axis).
void softmax_axis_f32_ref(int64_t outer, int64_t cols, int64_t inner, const float* x,
                          float* y) noexcept;
// Padding (constant, reflect or edge mode); pads in ONNX order (begins of every axis, then ends).
void pad_f32_ref(const Shape& xs, const std::vector<int64_t>& pads, float value, const float* x,
                 const Shape& ys, float* y, int mode = kPadConstant) noexcept;
// Concatenation along `axis` of inputs with shapes xs into y.
// y = x with its axes permuted: y dims[k] = x dims[perm[k]].
void transpose_f32_ref(const Shape& xs, std::span<const int64_t> perm, const float* x,
                       float* y) noexcept;
// y[i...] = x[starts[k] + i_k * steps[k] ...] for every axis k (ys gives the counts).
void slice_f32_ref(const Shape& xs, std::span<const int64_t> starts, std::span<const int64_t> steps,
                   const Shape& ys, const float* x, float* y) noexcept;
// Resize of one axis (ONNX Resize, nearest or linear): output coordinate o reads input
// coordinates i0[o] and i1[o] with weights (1 - w1[o]) and w1[o] (nearest: i1 = i0, w1 = 0).
// The input coordinate is computed in float as ONNX Runtime computes it, then clamped to the
// input (edge values repeat).
struct ResizeAxis {
  std::vector<int64_t> i0, i1;
  std::vector<float> w1;
};
[[nodiscard]] ResizeAxis resize_axis(const Attributes& a, int axis, int64_t in, int64_t out);
// Resize of H and W of an [N,C,H,W] tensor xs into ys.
void resize_f32_ref(const Attributes& a, const Shape& xs, const Shape& ys, const float* x,
                    float* y);
void concat_f32_ref(int64_t axis, std::span<const Shape> xs, std::span<const float* const> x,
                    const Shape& ys, float* y) noexcept;

// Runs `node` with the reference kernels. `in` holds one tensor per node input (constants
// included, in node order; a caller may pass replacements for constants, e.g. quantized
// weights); y has the output's batch shape.
void run_node_reference(const Node& node, std::span<const Tensor* const> in, Tensor& y);

// The fixed-point simulation of one node, exact: inputs on their grids (formats in_frac per
// activation input, `in` order), y rounded to `out`. Conv, Gemm, Add and Mul round their
// double result once (no float in between); average pooling rounds the exact quotient of
// the codes' sum (quant::requantize_ratio); LRN uses the integer engine's fixed-point
// multiplier (integer/integer.h). Every other operator is exact in float and is rounded
// after. Equal, value for value, to the integer kernels.
struct OutputQuant {
  quant::Format out;
  quant::Rounding rounding = quant::Rounding::HalfEven;
  std::vector<int> in_frac;  // per activation input
};
void run_node_rounded(const Node& node, std::span<const Tensor* const> in, Tensor& y,
                      const OutputQuant& q);
// Whether run_node_rounded rounds inside the kernel for this operator (the others are exact in
// float and leave the rounding to the caller).
[[nodiscard]] bool rounds_in_kernel(OpType op) noexcept;
// The rounding of node n under simulation fq (formats as they are now), or nullopt when its
// output or an activation input is float.
[[nodiscard]] std::optional<OutputQuant> output_quant(const Graph& g, const FakeQuant& fq,
                                                      const Node& n);

}  // namespace gammaq::kernels
