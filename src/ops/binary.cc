// Elementwise Add and Mul with numpy broadcasting (a constant operand, or two activations).
#include <cmath>

#include "export/qdq_writer.h"
#include "kernels/fast/fast_builder.h"
#include "kernels/integer/integer.h"
#include "onnx/import_rules.h"
#include "ops/common.h"

namespace gammaq::ops {
namespace {

// Operand 0 is always an activation; a constant operand goes second.
Imported import_binary(onnx_import::NodeIo& io, Node& node) {
  for (int k = 0; k < 2; ++k) {
    const int id = io.input(k);
    node.inputs.push_back(io.ctx.g.values[id].is_constant ? io.weight(k, "operand") : id);
  }
  const auto is_constant = [&](int k) { return io.ctx.g.values[node.inputs[k]].is_constant; };
  if (is_constant(0)) std::swap(node.inputs[0], node.inputs[1]);
  if (is_constant(0)) io.a.unsupported("both operands are constants");
  return Imported::Node;
}

int binary_rank(const onnx_import::RankIo& r) { return std::max(r.in_rank(0), r.in_rank(1)); }

void binary_reference(const Node& n, std::span<const Tensor* const> in, Tensor& y) {
  const Tensor &x0 = *in[0], &x1 = *in[1];
  kernels::binary_f32_ref(n.op, n.attrs, x0.shape, x0.data.data(), x1.shape, x1.data.data(),
                          y.shape, y.data.data());
}

// In double (float may round a sum of two fine grids), then rounded once.
void binary_rounded(const Node& n, std::span<const Tensor* const> in, Tensor& y,
                    const kernels::OutputQuant& q) {
  const Tensor& x = *in[0];
  const float* x1 = in[1]->data.data();
  if (in[1]->shape != x.shape) {  // broadcasting: float (exact for these grids), rounded after
    binary_reference(n, in, y);
    quant::fake_quant(y.data, q.out, q.rounding);
    return;
  }
  for (size_t i = 0; i < y.data.size(); ++i) {
    const double a = x.data[i], b = x1[i];
    const double v = n.op == OpType::Add ? a + b : a * b;
    y.data[i] = round_activated(v, n.attrs, q);
  }
}

// oneDNN binary where operand 1 is a constant (broadcast from the right) or an activation of
// operand 0's shape.
bool binary_fast(kernels::FastGraphImpl& b, const Node& n) {
  using namespace kernels;
  const int x = n.inputs[0], y = n.outputs[0];
  const Shape xs = b.batch_shape(x), ys = b.batch_shape(y);
  const Value& v1 = b.g.values[n.inputs[1]];
  memory src1;
  if (v1.is_constant) {
    if (v1.shape.size() > xs.size()) return false;
    Shape s1(xs.size(), 1);
    std::copy(v1.shape.begin(), v1.shape.end(), s1.end() - v1.shape.size());
    src1 = b.constant_memory(plain_md(s1), plain_md(s1), b.constant_data(n.inputs[1]));
  } else {
    if (b.batch_shape(n.inputs[1]) != xs) return false;  // activation broadcasting: reference
    src1 = b.as_layout(n.inputs[1], b.md[x]);
  }
  if (ys != xs) return false;
  dnnl::binary::desc d(
      n.op == OpType::Add ? dnnl::algorithm::binary_add : dnnl::algorithm::binary_mul, b.md[x],
      src1.get_desc(), b.md[x]);
  dnnl::binary::primitive_desc pd(d, activation_attr(n.attrs), cpu_engine());
  b.set_layout(y, pd.dst_desc());
  b.add_step(dnnl::binary(pd),
             {{DNNL_ARG_SRC_0, b.mem[x]}, {DNNL_ARG_SRC_1, src1}, {DNNL_ARG_DST, b.mem[y]}},
             pd.scratchpad_desc());
  b.impl.push_back(impl_of(pd));
  return true;
}

// Two activations of one shape: codes aligned to the finer frac (Add) or multiplied (Mul).
void binary_plan(IntegerPlanner& p, const Node& n, IntegerNode& in) {
  const int x = n.inputs[0], x1 = n.inputs[1];
  const Graph& g = p.graph();
  if (g.values[static_cast<size_t>(x1)].is_constant)
    IntegerPlanner::unsupported(n, "a constant operand");
  if (g.values[static_cast<size_t>(x1)].shape != g.values[static_cast<size_t>(x)].shape)
    IntegerPlanner::unsupported(n, "broadcasting");
  const int fx = p.format(x).frac, f1 = p.format(x1).frac;
  if (n.op == OpType::Add && std::abs(fx - f1) > 40)
    IntegerPlanner::unsupported(
        n, str_cat("operand fracs ", fx, " and ", f1, " too far apart to align"));
  in.stage = p.stage(
      n, {(n.op == OpType::Add ? std::max(fx, f1) : fx + f1) - p.format(n.outputs[0]).frac});
}

void binary_integer(IntegerStep& s) {
  const int x0 = s.n.inputs[0], x1 = s.n.inputs[1];
  kernels::binary_int_ref(s.n.op, s.codes[static_cast<size_t>(x0)], s.p.format(x0).frac,
                          s.codes[static_cast<size_t>(x1)], s.p.format(x1).frac, s.in.stage, s.y);
}

}  // namespace

namespace defs {

const OpDef Add{.op = OpType::Add,
                .import = import_binary,
                .check_shape = onnx_import::check_broadcast,
                .rank = binary_rank,
                .reference = binary_reference,
                .nonnegative = nonnegative_if_all_inputs,
                .rounded = binary_rounded,
                .fast = binary_fast,
                .integer_plan = binary_plan,
                .integer_run = binary_integer,
                .takes_activation = true};

const OpDef Mul{.op = OpType::Mul,
                .import = import_binary,
                .check_shape = onnx_import::check_broadcast,
                .rank = binary_rank,
                .reference = binary_reference,
                .rounded = binary_rounded,
                .fast = binary_fast,
                .integer_plan = binary_plan,
                .integer_run = binary_integer};

}  // namespace defs
}  // namespace gammaq::ops
