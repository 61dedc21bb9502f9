// Elementwise activations: Relu, Clip, LeakyRelu, Sigmoid. Relu, Clip and LeakyRelu fuse into
// the Conv/Gemm/Add before them (ir/passes.h fuse_activations); standalone they remain nodes.
#include <algorithm>
#include <cmath>

#include "export/qdq_writer.h"
#include "kernels/fast/fast_builder.h"
#include "kernels/integer/integer.h"
#include "onnx/import_rules.h"
#include "ops/common.h"

namespace gammaq::ops {
namespace {

using onnx_import::NodeIo;

Imported import_unary(NodeIo& io, Node& node) {
  node.inputs = {io.activation(0)};
  return Imported::Node;
}

Imported import_leaky_relu(NodeIo& io, Node& node) {
  node.inputs = {io.activation(0)};
  node.attrs.alpha = io.a.f("alpha", 0.01f);
  return Imported::Node;
}

// Clip: bounds as constant scalar inputs (opset 11+); either may be absent (unbounded).
Imported import_clip(NodeIo& io, Node& node) {
  Attributes& at = node.attrs;
  node.inputs = {io.activation(0)};
  if (io.has_input(1)) at.clip_min = io.scalar(1, "min");
  if (io.has_input(2)) at.clip_max = io.scalar(2, "max");
  if (std::isnan(at.clip_min) || std::isnan(at.clip_max) || !(at.clip_min <= at.clip_max))
    io.invalid(str_cat("min ", at.clip_min, " > max ", at.clip_max));
  return Imported::Node;
}

void unary_reference(const Node& n, std::span<const Tensor* const> in, Tensor& y) {
  kernels::unary_f32_ref(n.op, n.attrs, in[0]->data, y.data);
}

bool clip_nonnegative(const Node& n, bool input0, bool) {
  return n.attrs.clip_min >= 0.0f || input0;
}

bool unary_fast(kernels::FastGraphImpl& b, const Node& n) {
  using namespace kernels;
  dnnl::algorithm alg = dnnl::algorithm::eltwise_relu;
  float alpha = 0.0f, beta = 0.0f;
  if (n.op == OpType::Clip) {
    alg = dnnl::algorithm::eltwise_clip;
    alpha = n.attrs.clip_min;
    beta = n.attrs.clip_max;
  } else if (n.op == OpType::LeakyRelu) {
    alpha = n.attrs.alpha;
  } else if (n.op == OpType::Sigmoid) {
    alg = dnnl::algorithm::eltwise_logistic;
  }
  const int x = n.inputs[0];
  dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference, alg, b.md[x], alpha, beta);
  b.add_src_dst_step<dnnl::eltwise_forward>(x, n.outputs[0], {d, base_attr(), cpu_engine()});
  return true;
}

// Relu and Clip commute with rounding (monotone, exact on every grid): the stage's bounds.
void relu_integer_plan(IntegerPlanner& p, const Node& n, IntegerNode& in) {
  plan_requantize(p, n, in);
  in.stage.lo = std::max<int64_t>(in.stage.lo, 0);
}

void clip_integer_plan(IntegerPlanner& p, const Node& n, IntegerNode& in) {
  plan_requantize(p, n, in);
  Attributes a;
  a.activation = Activation::Clip;
  a.act_min = n.attrs.clip_min;
  a.act_max = n.attrs.clip_max;
  const kernels::OutputStage c =
      kernels::output_stage(p.format(n.outputs[0]), p.rounding(), a, {0});
  in.stage.lo = std::max(in.stage.lo, c.lo);
  in.stage.hi = std::min(in.stage.hi, c.hi);
}

// The operator itself is the node's activation: quantize its output, apply nothing more.
QdqTail sigmoid_qdq(QdqWriter& w, const Node& n, const std::string& y) {
  w.node("Sigmoid", n.name, {w.input(n.inputs[0])}, y);
  return QdqTail::FinishPlain;
}

}  // namespace

namespace defs {

const OpDef Relu{.op = OpType::Relu,
                 .import = import_unary,
                 .reference = unary_reference,
                 .nonnegative = nonnegative_always,
                 .fast = unary_fast,
                 .integer_plan = relu_integer_plan,
                 .fuses_as = Activation::Relu};

const OpDef Clip{.op = OpType::Clip,
                 .import = import_clip,
                 .reference = unary_reference,
                 .nonnegative = clip_nonnegative,
                 .fast = unary_fast,
                 .integer_plan = clip_integer_plan,
                 .fuses_as = Activation::Clip};

const OpDef LeakyRelu{.op = OpType::LeakyRelu,
                      .import = import_leaky_relu,
                      .reference = unary_reference,
                      .fast = unary_fast,
                      .no_integer = "non-piecewise-linear activation",
                      .fuses_as = Activation::LeakyRelu};

const OpDef Sigmoid{.op = OpType::Sigmoid,
                    .import = import_unary,
                    .reference = unary_reference,
                    .nonnegative = nonnegative_always,
                    .fast = unary_fast,
                    .no_integer = "non-piecewise-linear activation",
                    .qdq = sigmoid_qdq};

}  // namespace defs
}  // namespace gammaq::ops
