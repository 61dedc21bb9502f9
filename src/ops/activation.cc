// Elementwise activations: Relu, Clip, LeakyRelu, Sigmoid, HardSigmoid, HardSwish, Tanh, Elu and
// SiLU (x * Sigmoid(x), fused by ir/passes.h). Relu, Clip and LeakyRelu fuse into the
// Conv/Gemm/Add before them (ir/passes.h fuse_activations); standalone they remain nodes.
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

// HardSigmoid: max(0, min(1, alpha x + beta)); HardSwish: x HardSigmoid(x) with alpha 1/6 and
// beta 1/2 (its fixed constants, also what ir/passes.h fuses x * HardSigmoid(x) into).
Imported import_hard_sigmoid(NodeIo& io, Node& node) {
  node.inputs = {io.activation(0)};
  node.attrs.alpha = io.a.f("alpha", 0.2f);
  node.attrs.beta = io.a.f("beta", 0.5f);
  return Imported::Node;
}

Imported import_hard_swish(NodeIo& io, Node& node) {
  node.inputs = {io.activation(0)};
  node.attrs.alpha = 1.0f / 6.0f;
  node.attrs.beta = 0.5f;
  return Imported::Node;
}

Imported import_elu(NodeIo& io, Node& node) {
  node.inputs = {io.activation(0)};
  node.attrs.alpha = io.a.f("alpha", 1.0f);
  return Imported::Node;
}

// Clip: bounds as constant scalar inputs (opset 11+) or attributes (opsets 7-10); either may be
// absent (unbounded).
Imported import_clip(NodeIo& io, Node& node) {
  Attributes& at = node.attrs;
  node.inputs = {io.activation(0)};
  if (io.ctx.g.opset < 11) {
    at.clip_min = io.a.f("min", at.clip_min);
    at.clip_max = io.a.f("max", at.clip_max);
  }
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

// One oneDNN eltwise primitive; HardSigmoid is eltwise_linear with a clip post-op (oneDNN 2.6
// has no hardsigmoid), and HardSwish takes oneDNN's hardswish only at its own constants.
bool unary_fast(kernels::FastGraphImpl& b, const Node& n) {
  using namespace kernels;
  using dnnl::algorithm;
  algorithm alg = algorithm::eltwise_relu;
  float alpha = 0.0f, beta = 0.0f;
  dnnl::primitive_attr attr = base_attr();
  switch (n.op) {
    case OpType::Clip:
      alg = algorithm::eltwise_clip;
      alpha = n.attrs.clip_min;
      beta = n.attrs.clip_max;
      break;
    case OpType::LeakyRelu: alpha = n.attrs.alpha; break;
    case OpType::Sigmoid: alg = algorithm::eltwise_logistic; break;
    case OpType::SiLU:
      alg = algorithm::eltwise_swish;
      alpha = 1.0f;
      break;
    case OpType::Tanh: alg = algorithm::eltwise_tanh; break;
    case OpType::Elu:
      alg = algorithm::eltwise_elu;
      alpha = n.attrs.alpha;
      break;
    case OpType::HardSwish:
      if (n.attrs.alpha != 1.0f / 6.0f || n.attrs.beta != 0.5f) return false;
      alg = algorithm::eltwise_hardswish;
      break;
    case OpType::HardSigmoid: {
      alg = algorithm::eltwise_linear;
      alpha = n.attrs.alpha;
      beta = n.attrs.beta;
      dnnl::post_ops ops;
      ops.append_eltwise(1.0f, algorithm::eltwise_clip, 0.0f, 1.0f);
      attr.set_post_ops(ops);
      break;
    }
    default: break;
  }
  const int x = n.inputs[0];
  dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference, alg, b.md[x], alpha, beta);
  b.add_src_dst_step<dnnl::eltwise_forward>(x, n.outputs[0], {d, attr, cpu_engine()});
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

// The ONNX operator with its alpha (and beta) attributes. HardSwish is opset 14: below, it is
// written as x * HardSigmoid(x) with alpha 1/6 and beta 1/2 (its definition).
QdqTail alpha_beta_qdq(QdqWriter& w, const Node& n, const std::string& y) {
  if (n.op == OpType::HardSwish && w.opset_ < 14) {
    const std::string x = w.input(n.inputs[0]), gate = y + "/hardsigmoid";
    auto* hs = w.node("HardSigmoid", n.name + "/HardSigmoid", {x}, gate);
    QdqWriter::attr(hs, "alpha", 1.0f / 6.0f);
    QdqWriter::attr(hs, "beta", 0.5f);
    w.node("Mul", n.name, {x, gate}, y);
    return QdqTail::FinishPlain;
  }
  auto* node = w.node(std::string(op_name(n.op)), n.name, {w.input(n.inputs[0])}, y);
  if (n.op != OpType::HardSwish) QdqWriter::attr(node, "alpha", n.attrs.alpha);
  if (n.op == OpType::HardSigmoid) QdqWriter::attr(node, "beta", n.attrs.beta);
  return QdqTail::FinishPlain;
}

QdqTail plain_qdq(QdqWriter& w, const Node& n, const std::string& y) {
  w.node(std::string(op_name(n.op)), n.name, {w.input(n.inputs[0])}, y);
  return QdqTail::FinishPlain;
}

// SiLU as ONNX writes it: x * Sigmoid(x).
QdqTail silu_qdq(QdqWriter& w, const Node& n, const std::string& y) {
  const std::string x = w.input(n.inputs[0]);
  const std::string s = y + "/sigmoid";
  w.node("Sigmoid", n.name + "/sigmoid", {x}, s);
  w.node("Mul", n.name, {x, s}, y);
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

const OpDef HardSigmoid{.op = OpType::HardSigmoid,
                        .import = import_hard_sigmoid,
                        .reference = unary_reference,
                        .nonnegative = nonnegative_always,
                        .fast = unary_fast,
                        .no_integer = "non-piecewise-linear activation",
                        .qdq = alpha_beta_qdq};

const OpDef HardSwish{.op = OpType::HardSwish,
                      .import = import_hard_swish,
                      .reference = unary_reference,
                      .fast = unary_fast,
                      .no_integer = "non-piecewise-linear activation",
                      .qdq = alpha_beta_qdq};

const OpDef Tanh{.op = OpType::Tanh,
                 .import = import_unary,
                 .reference = unary_reference,
                 .fast = unary_fast,
                 .no_integer = "non-piecewise-linear activation",
                 .qdq = plain_qdq};

const OpDef Elu{.op = OpType::Elu,
                .import = import_elu,
                .reference = unary_reference,
                .fast = unary_fast,
                .no_integer = "non-piecewise-linear activation",
                .qdq = alpha_beta_qdq};

const OpDef SiLU{.op = OpType::SiLU,
                 .import = nullptr,  // not an ONNX operator: ir/passes.h fuses x * Sigmoid(x)
                 .reference = unary_reference,
                 .fast = unary_fast,
                 .no_integer = "non-piecewise-linear activation",
                 .qdq = silu_qdq};

}  // namespace defs
}  // namespace gammaq::ops
