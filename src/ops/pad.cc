// Pad: constant, reflect and edge modes; pads from the input (opset 11+) or the attribute
// (opsets 7-10). A zero constant Pad of H and W before a Conv folds into its padding
// (ir/passes.h fold_pad).
#include <cmath>

#include "export/qdq_writer.h"
#include "onnx/import_rules.h"
#include "ops/common.h"

namespace gammaq::ops {
namespace {

using onnx_import::NodeIo;

Imported import_pad(NodeIo& io, Node& node) {
  Attributes& at = node.attrs;
  node.inputs = {io.activation(0)};
  const std::string mode = io.a.s("mode", "constant");
  if (mode == "reflect")
    at.pad_mode = kPadReflect;
  else if (mode == "edge")
    at.pad_mode = kPadEdge;
  else if (mode != "constant")
    io.a.unsupported(str_cat("mode '", mode, "'; gammaq reads 'constant', 'reflect' and 'edge'"));
  const int64_t rank = static_cast<int64_t>(io.shape_of(node.inputs[0]).size());
  std::vector<float> pads;
  if (io.ctx.g.opset < 11) {
    for (int64_t v : io.a.ints("pads", {})) pads.push_back(static_cast<float>(v));
    at.pad_value = io.a.f("value", 0.0f);
  } else {
    const Value& p = io.value(1);
    if (!p.is_constant) io.a.unsupported("pads must be a constant");
    pads = p.data.data;
  }
  if (static_cast<int64_t>(pads.size()) != 2 * rank)
    io.a.unsupported(str_cat("pads must hold ", 2 * rank, " values"));
  for (float v : pads) {
    if (v < 0) io.a.unsupported("negative pads (cropping)");
    if (!std::isfinite(v) || v > onnx_import::kMaxWindow)
      io.a.fail("pads", "values must be in [0, 2^20]");
    at.pads.push_back(static_cast<int64_t>(v));
  }
  if (at.pads[0] != 0 || at.pads[rank] != 0) io.a.unsupported("padding the batch dimension");
  if (io.ctx.g.opset >= 11 && io.has_input(2)) {
    at.pad_value = io.scalar(2, "constant_value");
    if (std::isnan(at.pad_value)) io.a.unsupported("a NaN constant_value");
  }
  if (io.has_input(3)) io.a.unsupported("the axes input");
  const Shape& x = io.shape_of(node.inputs[0]);
  if (at.pad_mode == kPadReflect)
    for (int64_t k = 0; k < rank; ++k)
      if (at.pads[static_cast<size_t>(k)] >= x[static_cast<size_t>(k)] ||
          at.pads[static_cast<size_t>(k + rank)] >= x[static_cast<size_t>(k)])
        io.invalid("reflect pads must be smaller than the padded dimension");
  return Imported::Node;
}

void pad_reference(const Node& n, std::span<const Tensor* const> in, Tensor& y) {
  const Tensor& x = *in[0];
  kernels::pad_f32_ref(x.shape, n.attrs.pads, n.attrs.pad_value, x.data.data(), y.shape,
                       y.data.data(), n.attrs.pad_mode);
}

bool pad_nonnegative(const Node& n, bool input0, bool) {
  return input0 && (n.attrs.pad_mode != kPadConstant || n.attrs.pad_value >= 0.0f);
}

QdqTail pad_qdq(QdqWriter& w, const Node& n, const std::string& y) {
  const std::string& dst = w.name_of_[static_cast<size_t>(n.outputs[0])];
  const std::string pads = w.int64s(dst + "/pads", n.attrs.pads);
  const std::string value = w.floats(dst + "/pad_value", {}, {n.attrs.pad_value});
  auto* p = w.node("Pad", n.name, {w.input(n.inputs[0]), pads, value}, y);
  if (n.attrs.pad_mode != kPadConstant)
    QdqWriter::attr(p, "mode", std::string(n.attrs.pad_mode == kPadReflect ? "reflect" : "edge"));
  return QdqTail::Finish;
}

}  // namespace

namespace defs {

const OpDef Pad{.op = OpType::Pad,
                .import = import_pad,
                .reference = pad_reference,
                .nonnegative = pad_nonnegative,
                .no_integer = "Pad (fold it into the next Conv's padding)",
                .qdq = pad_qdq};

}  // namespace defs
}  // namespace gammaq::ops
