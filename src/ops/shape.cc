// Operators that move values without changing them: Flatten, Reshape, Identity, Dropout
// (inference: the identity). They keep their input's codes; a format change is a requantize.
#include "export/qdq_writer.h"
#include "onnx/import_rules.h"
#include "ops/common.h"

namespace gammaq::ops {
namespace {

using onnx_import::NodeIo;

// Identity or Dropout of a constant is that constant.
bool fold_constant(NodeIo& io) {
  const Value& v = io.value(0);
  if (!v.is_constant) return false;
  Tensor t = v.data;
  io.ctx.add_constant(io.n.output(0), std::move(t));
  return true;
}

Imported import_identity(NodeIo& io, Node& node) {
  if (fold_constant(io)) return Imported::Folded;
  node.inputs = {io.activation(0)};
  return Imported::Node;
}

Imported import_dropout(NodeIo& io, Node& node) {
  if (fold_constant(io)) return Imported::Folded;
  node.inputs = {io.activation(0)};
  if (io.has_input(2)) {
    const Value& tm = io.value(2);
    if (!tm.is_constant || (tm.data.numel() == 1 && tm.data.data[0] != 0.0f))
      io.a.unsupported("training_mode must be a constant false");
  }
  io.single_output();
  return Imported::Node;
}

Imported import_flatten(NodeIo& io, Node& node) {
  node.inputs = {io.activation(0)};
  const int64_t rank = static_cast<int64_t>(io.shape_of(node.inputs[0]).size());
  int64_t& axis = node.attrs.axis;
  axis = io.a.i("axis", 1);
  if (axis < 0) axis += rank;
  if (axis != 1) io.a.unsupported("only axis=1 (the batch stays dimension 0)");
  return Imported::Node;
}

int flatten_rank(const onnx_import::RankIo&) { return 2; }

Imported import_reshape(NodeIo& io, Node& node) {
  node.inputs = {io.activation(0)};
  const Value& s = io.value(1);
  if (!s.is_constant) io.a.unsupported("the target shape must be a constant");
  if (s.data.numel() < 1 || (s.data.data[0] != 0 && s.data.data[0] != -1))
    io.a.unsupported("the target shape must keep the batch: its first entry must be 0 or -1");
  return Imported::Node;
}

// The rank of a Reshape is its target's length when the target is a known 1-D constant.
int reshape_rank(const onnx_import::RankIo& r) {
  auto it = r.n.input_size() > 1 ? r.length.find(r.n.input(1)) : r.length.end();
  return it != r.length.end() && it->second <= 8 ? static_cast<int>(it->second) : -1;
}

// The target, as shape inference resolved it (0 and -1 entries), recorded for batch 1.
void reshape_shape(const NodeIo& io, Node& node, const Shape& out) {
  onnx_import::check_same_numel(io, node, out);
  node.attrs.reshape = out;
}

void copy_reference(const Node&, std::span<const Tensor* const> in, Tensor& y) {
  std::copy(in[0]->data.begin(), in[0]->data.end(), y.data.begin());  // same elements, new shape
}

QdqTail identity_qdq(QdqWriter& w, const Node& n, const std::string& y) {
  w.node("Identity", n.name, {w.input(n.inputs[0])}, y);
  return QdqTail::Finish;
}

QdqTail reshape_qdq(QdqWriter& w, const Node& n, const std::string& y) {
  std::vector<int64_t> shape(n.attrs.reshape.begin(), n.attrs.reshape.end());
  shape[0] = -1;  // the batch, whatever it is (gammaq records the target for batch 1)
  const std::string& dst = w.name_of_[static_cast<size_t>(n.outputs[0])];
  w.node("Reshape", n.name, {w.input(n.inputs[0]), w.int64s(dst + "/shape", shape)}, y);
  return QdqTail::Finish;
}

}  // namespace

namespace defs {

const OpDef Flatten{.op = OpType::Flatten,
                    .import = import_flatten,
                    .check_shape = onnx_import::check_same_numel,
                    .rank = flatten_rank,
                    .reference = copy_reference,
                    .nonnegative = nonnegative_if_input,
                    .integer_plan = plan_requantize,
                    .qdq = axis_qdq,
                    .data_movement = true};

const OpDef Reshape{.op = OpType::Reshape,
                    .import = import_reshape,
                    .check_shape = reshape_shape,
                    .rank = reshape_rank,
                    .reference = copy_reference,
                    .nonnegative = nonnegative_if_input,
                    .integer_plan = plan_requantize,
                    .qdq = reshape_qdq,
                    .data_movement = true};

const OpDef Identity{.op = OpType::Identity,
                     .import = import_identity,
                     .check_shape = onnx_import::check_same_numel,
                     .reference = copy_reference,
                     .nonnegative = nonnegative_if_input,
                     .integer_plan = plan_requantize,
                     .qdq = identity_qdq,
                     .data_movement = true};

const OpDef Dropout{.op = OpType::Dropout,
                    .import = import_dropout,
                    .check_shape = onnx_import::check_same_numel,
                    .reference = copy_reference,
                    .nonnegative = nonnegative_if_input,
                    .integer_plan = plan_requantize,
                    .qdq = identity_qdq,
                    .data_movement = true};

}  // namespace defs
}  // namespace gammaq::ops
