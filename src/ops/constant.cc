// Constant: folded at import into a constant value; never a node of a Graph.
#include "onnx/import_rules.h"
#include "ops/common.h"

namespace gammaq::ops {
namespace {

Imported import_constant(onnx_import::NodeIo& io, Node&) {
  const auto* v = io.a.find("value");
  if (!v || v->type() != onnx::AttributeProto::TENSOR)
    io.a.unsupported("only the 'value' tensor form of Constant is supported");
  try {
    io.ctx.add_constant(io.n.output(0), onnx_import::tensor_from_proto(v->t(), true));
  } catch (const Error& e) {
    throw with_context(e, io.label + ": attribute 'value'");
  }
  return Imported::Folded;
}

// Rank of the value tensor; a 1-D value's length is recorded (a Reshape target).
int constant_rank(const onnx_import::RankIo& r) {
  int out = 0;
  for (const auto& a : r.n.attribute()) {
    if (a.name() != "value") continue;
    out = a.t().dims_size();
    if (out == 1 && r.n.output_size() > 0) r.length[r.n.output(0)] = a.t().dims(0);
  }
  return out;
}

}  // namespace

namespace defs {

const OpDef Constant{.op = OpType::Constant, .import = import_constant, .rank = constant_rank};

}  // namespace defs
}  // namespace gammaq::ops
