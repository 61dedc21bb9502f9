// BatchNormalization (inference) and Softmax. BatchNormalization after a Conv folds into it
// (ir/passes.h fold_batchnorm); what remains runs as a per-channel affine map in float.
#include "export/qdq_writer.h"
#include "onnx/import_rules.h"
#include "ops/common.h"

namespace gammaq::ops {
namespace {

using onnx_import::NodeIo;

Imported import_batchnorm(NodeIo& io, Node& node) {
  node.inputs = {io.activation(0)};
  const char* roles[] = {"scale", "B", "mean", "var"};
  const Shape& x = io.shape_of(node.inputs[0]);
  const int64_t c = x.size() > 1 ? x[1] : 0;
  for (int k = 1; k <= 4; ++k) {
    node.inputs.push_back(io.weight(k, roles[k - 1]));
    if (io.shape_of(node.inputs.back()) != Shape{c})
      io.invalid(str_cat(roles[k - 1], " has shape ", shape_str(io.shape_of(node.inputs.back())),
                         ", expected [", c, "]"));
  }
  node.attrs.epsilon = io.a.f("epsilon", 1e-5f);
  if (io.a.i("training_mode", 0) != 0) io.a.unsupported("training_mode=1 is not supported");
  for (float v : io.ctx.g.values[node.inputs[4]].data.data)
    if (v < 0) io.invalid("negative variance");
  io.single_output();
  return Imported::Node;
}

void batchnorm_reference(const Node& n, std::span<const Tensor* const> in, Tensor& y) {
  const Tensor& x = *in[0];
  const int64_t inner = x.numel() / (x.shape[0] * x.shape[1]);
  kernels::batchnorm_f32_ref(x.shape[0], x.shape[1], inner, input_data(in, 1), input_data(in, 2),
                             input_data(in, 3), input_data(in, 4), n.attrs.epsilon, x.data.data(),
                             y.data.data());
}

QdqTail batchnorm_qdq(QdqWriter& w, const Node& n, const std::string& y) {
  std::vector<std::string> ins;
  for (int v : n.inputs) ins.push_back(w.input(v));
  QdqWriter::attr(w.node("BatchNormalization", n.name, ins, y), "epsilon", n.attrs.epsilon);
  return QdqTail::Finish;
}

Imported import_softmax(NodeIo& io, Node& node) {
  node.inputs = {io.activation(0)};
  const int64_t rank = static_cast<int64_t>(io.shape_of(node.inputs[0]).size());
  int64_t& axis = node.attrs.axis;
  axis = io.a.i("axis", io.ctx.g.opset >= 13 ? -1 : 1);
  if (axis < 0) axis += rank;
  if (rank != 2 || axis != 1) io.a.unsupported("only 2-D inputs with axis 1 (= -1)");
  return Imported::Node;
}

void softmax_reference(const Node&, std::span<const Tensor* const> in, Tensor& y) {
  const Tensor& x = *in[0];
  kernels::softmax_f32_ref(x.shape[0], x.shape[1], x.data.data(), y.data.data());
}

}  // namespace

namespace defs {

const OpDef BatchNormalization{.op = OpType::BatchNormalization,
                               .import = import_batchnorm,
                               .reference = batchnorm_reference,
                               .no_integer = "BatchNormalization not folded into a Conv",
                               .qdq = batchnorm_qdq};

const OpDef Softmax{.op = OpType::Softmax,
                    .import = import_softmax,
                    .reference = softmax_reference,
                    .nonnegative = nonnegative_always,
                    .no_integer = "Softmax (classify on the logits before it)",
                    .qdq = axis_qdq};

}  // namespace defs
}  // namespace gammaq::ops
