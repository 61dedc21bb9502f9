// Concat along any non-batch axis. In integers every input is first brought to the output's
// format by its own stage (a shift per input), then copied.
#include "export/qdq_writer.h"
#include "kernels/fast/fast_builder.h"
#include "kernels/integer/integer.h"
#include "onnx/import_rules.h"
#include "ops/common.h"

namespace gammaq::ops {
namespace {

Imported import_concat(onnx_import::NodeIo& io, Node& node) {
  for (int k = 0; k < io.n.input_size(); ++k) node.inputs.push_back(io.activation(k));
  if (node.inputs.empty()) io.invalid("no inputs");
  const int64_t rank = static_cast<int64_t>(io.shape_of(node.inputs[0]).size());
  int64_t& axis = node.attrs.axis;
  axis = io.a.i("axis", 1);
  if (axis < 0) axis += rank;
  if (axis < 1 || axis >= rank)
    io.a.unsupported(str_cat("axis ", io.a.i("axis", 1), "; only non-batch axes"));
  return Imported::Node;
}

void concat_reference(const Node& n, std::span<const Tensor* const> in, Tensor& y) {
  std::vector<Shape> shapes;
  std::vector<const float*> ptrs;
  for (const Tensor* t : in) {
    shapes.push_back(t->shape);
    ptrs.push_back(t->data.data());
  }
  kernels::concat_f32_ref(n.attrs.axis, shapes, ptrs, y.shape, y.data.data());
}

bool concat_fast(kernels::FastGraphImpl& b, const Node& n) {
  using namespace kernels;
  std::vector<memory::desc> srcs;
  Args args;
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    srcs.push_back(b.md[n.inputs[i]]);
    args.insert({DNNL_ARG_MULTIPLE_SRC + static_cast<int>(i), b.mem[n.inputs[i]]});
  }
  dnnl::concat::primitive_desc pd(static_cast<int>(n.attrs.axis), srcs, cpu_engine(), base_attr());
  const int y = n.outputs[0];
  b.set_layout(y, pd.dst_desc());
  args.insert({DNNL_ARG_DST, b.mem[y]});
  b.add_step(dnnl::concat(pd), args, pd.scratchpad_desc());
  b.impl.push_back(impl_of(pd));
  return true;
}

void concat_plan(IntegerPlanner& p, const Node& n, IntegerNode& in) {
  const quant::Format& out = p.format(n.outputs[0]);
  in.stage = p.stage(n, {0});
  for (int v : n.inputs)
    in.input_stages.push_back(
        kernels::output_stage(out, p.rounding(), Attributes{}, {p.format(v).frac - out.frac}));
}

void concat_integer(IntegerStep& s) {
  std::vector<Shape> shapes;
  std::vector<const int32_t*> ptrs;
  for (int v : s.n.inputs) {
    shapes.push_back(s.shape_of(v));
    ptrs.push_back(s.codes[static_cast<size_t>(v)].data());
  }
  if (s.fast)
    kernels::concat_int(s.n.attrs.axis, shapes, ptrs, s.in.input_stages, s.ys, s.y.data());
  else
    kernels::concat_int_ref(s.n.attrs.axis, shapes, ptrs, s.in.input_stages, s.ys, s.y.data());
}

void concat_json(const Node& n, const IntegerNode& in, nlohmann::ordered_json& e) {
  e["axis"] = n.attrs.axis;
  std::vector<int64_t> shifts;
  for (const kernels::OutputStage& s : in.input_stages) shifts.push_back(s.shift_of(0));
  e["input_shifts"] = shifts;
}

}  // namespace

// Concat, Flatten and Softmax: written with their axis.
QdqTail axis_qdq(QdqWriter& w, const Node& n, const std::string& y) {
  std::vector<std::string> ins;
  for (int v : n.inputs) ins.push_back(w.input(v));
  QdqWriter::attr(w.node(std::string(op_name(n.op)), n.name, ins, y), "axis", n.attrs.axis);
  return QdqTail::Finish;
}

namespace defs {

const OpDef Concat{.op = OpType::Concat,
                   .import = import_concat,
                   .reference = concat_reference,
                   .nonnegative = nonnegative_if_all_inputs,
                   .fast = concat_fast,
                   .integer_plan = concat_plan,
                   .integer_run = concat_integer,
                   .export_json = concat_json,
                   .qdq = axis_qdq};

}  // namespace defs
}  // namespace gammaq::ops
