// Elementwise Add and Mul with numpy broadcasting (a constant operand, or two activations).
#include <algorithm>
#include <cmath>

#include "export/qdq_writer.h"
#include "kernels/fast/fast_builder.h"
#include "kernels/integer/integer.h"
#include "onnx/import_rules.h"
#include "ops/common.h"

namespace gammaq::ops {
namespace {

// Numpy broadcasting of two shapes (right-aligned); the caller has checked they broadcast.
Shape broadcast(const Shape& a, const Shape& b) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n, 1);
  for (size_t k = 0; k < n; ++k) {
    const int64_t da = k < n - a.size() ? 1 : a[k - (n - a.size())];
    const int64_t db = k < n - b.size() ? 1 : b[k - (n - b.size())];
    out[k] = da == 1 ? db : da;
  }
  return out;
}

// Sum, Max or Min of three or more operands: a chain of binary nodes, activations first (the
// operators commute), each intermediate named "<node>:<k>"; the last writes the node's output.
Imported import_chain(onnx_import::NodeIo& io, Node& node) {
  std::vector<int> act, constant;
  for (int k = 0; k < io.n.input_size(); ++k) {
    if (!io.has_input(k)) continue;
    const int id = io.input(k);
    if (io.ctx.g.values[id].is_constant)
      constant.push_back(io.weight(k, "operand"));
    else
      act.push_back(id);
  }
  if (act.empty()) io.a.unsupported("every operand is a constant");
  std::vector<int> order = act;
  order.insert(order.end(), constant.begin(), constant.end());
  const Shape out = io.inferred(0);
  int acc = order[0];
  for (size_t k = 1; k < order.size(); ++k) {
    Node step;
    step.name = k + 1 == order.size() ? node.name : str_cat(node.name, ":", k);
    step.op = node.op;
    step.inputs = {acc, order[k]};
    const bool last = k + 1 == order.size();
    const Shape shape = last ? out : broadcast(io.shape_of(acc), io.ctx.g.values[order[k]].shape);
    onnx_import::check_broadcast(io, step, shape);
    acc = io.emit(std::move(step), last ? io.n.output(0) : str_cat(io.n.output(0), ":", k), shape);
  }
  return Imported::Emitted;
}

// Operand 0 is always an activation; a constant operand goes second (Sub and Div remember a
// constant that came first: attrs.reversed). Sum, Max and Min of two operands are binary; of one,
// a copy; of more, a chain of binary nodes (import_chain). PRelu's slope is a constant broadcast to
// the input.
Imported import_binary(onnx_import::NodeIo& io, Node& node) {
  const bool variadic = io.op == OpType::Sum || io.op == OpType::Max || io.op == OpType::Min;
  int count = 0;
  for (int k = 0; k < io.n.input_size(); ++k) count += io.has_input(k) ? 1 : 0;
  if (variadic && count == 1) {
    node.op = OpType::Identity;
    node.inputs = {io.activation(0)};
    return Imported::Node;
  }
  if (io.op == OpType::Sum) node.op = OpType::Add;
  if (variadic && count > 2) return import_chain(io, node);
  for (int k = 0; k < 2; ++k) {
    const int id = io.input(k);
    node.inputs.push_back(io.ctx.g.values[id].is_constant
                              ? io.weight(k, io.op == OpType::PRelu ? "slope" : "operand")
                              : id);
  }
  const auto is_constant = [&](int k) { return io.ctx.g.values[node.inputs[k]].is_constant; };
  if (io.op == OpType::PRelu && !is_constant(1))
    io.a.unsupported("the slope must be a constant (a learned PRelu)");
  if (is_constant(0)) {
    std::swap(node.inputs[0], node.inputs[1]);
    node.attrs.reversed = node.op == OpType::Sub || node.op == OpType::Div;
  }
  if (is_constant(0)) io.a.unsupported("both operands are constants");
  return Imported::Node;
}

int binary_rank(const onnx_import::RankIo& r) {
  int rank = -1;
  for (int k = 0; k < r.n.input_size(); ++k) rank = std::max(rank, r.in_rank(k));
  return rank;
}

void binary_reference(const Node& n, std::span<const Tensor* const> in, Tensor& y) {
  const Tensor &x0 = *in[0], &x1 = *in[1];
  kernels::binary_f32_ref(n.op, n.attrs, x0.shape, x0.data.data(), x1.shape, x1.data.data(),
                          y.shape, y.data.data());
}

// In double (float may round a sum of two fine grids, and a quotient), then rounded once.
void binary_rounded(const Node& n, std::span<const Tensor* const> in, Tensor& y,
                    const kernels::OutputQuant& q) {
  const Tensor &x0 = *in[0], &x1 = *in[1];
  kernels::binary_rounded_ref(n.op, n.attrs, x0.shape, x0.data.data(), x1.shape, x1.data.data(),
                              y.shape, y.data.data(), q);
}

// A constant operand's oneDNN memory: its shape right-aligned to the output's rank.
kernels::memory constant_operand(kernels::FastGraphImpl& b, int v, size_t rank) {
  using namespace kernels;
  const Shape& s = b.g.values[v].shape;
  Shape s1(rank, 1);
  std::copy(s.begin(), s.end(), s1.end() - static_cast<std::ptrdiff_t>(s.size()));
  return b.constant_memory(plain_md(s1), plain_md(s1), b.constant_data(v));
}

// oneDNN binary: operand 1 (a constant, or an activation) broadcast to operand 0, which has the
// output's shape; Add, Mul, Max and Min swap a smaller operand 0 to second place. PRelu is
// oneDNN's prelu with the slope as its weights.
bool binary_fast(kernels::FastGraphImpl& b, const Node& n) {
  using namespace kernels;
  using dnnl::algorithm;
  int x = n.inputs[0], x1 = n.inputs[1];
  const int y = n.outputs[0];
  const Shape ys = b.batch_shape(y);
  const Value& v1 = b.g.values[x1];
  if (v1.shape.size() > ys.size()) return false;
  const bool commutative =
      n.op == OpType::Add || n.op == OpType::Mul || n.op == OpType::Max || n.op == OpType::Min;
  if (!v1.is_constant && b.batch_shape(x) != ys && commutative) std::swap(x, x1);
  if (b.batch_shape(x) != ys)
    return false;  // operand 0 broadcast (c - x of a smaller x): reference
  if (n.op == OpType::PRelu) {
    const memory slope = constant_operand(b, x1, ys.size());
    dnnl::prelu_forward::desc d(dnnl::prop_kind::forward_inference, b.md[x], slope.get_desc());
    dnnl::prelu_forward::primitive_desc pd(d, base_attr(), cpu_engine());
    b.set_layout(y, pd.dst_desc());
    b.add_step(dnnl::prelu_forward(pd),
               {{DNNL_ARG_SRC, b.mem[x]}, {DNNL_ARG_WEIGHTS, slope}, {DNNL_ARG_DST, b.mem[y]}},
               pd.scratchpad_desc());
    b.impl.push_back(impl_of(pd));
    return true;
  }
  memory src1, src0 = b.mem[x];
  if (b.g.values[x1].is_constant) {
    src1 = constant_operand(b, x1, ys.size());
  } else {
    const Shape s1 = b.batch_shape(x1);
    if (s1.size() != ys.size()) return false;
    if (s1 == ys) {
      src1 = b.as_layout(x1, b.md[x]);
    } else if (ys.size() == 4) {
      // A broadcast activation (squeeze-excitation's gate [N, C, 1, 1]): oneDNN 2.6's jit
      // binary takes it beside channels-last operands, not beside its blocked layouts (there
      // it runs the reference implementation, ~10 ns a value): both go channels-last.
      src0 = b.as_layout(x, memory::desc(dims_of(ys), dt::f32, tag::acdb));
      src1 = b.as_layout(x1, memory::desc(dims_of(s1), dt::f32, tag::acdb));
    } else {
      src1 = b.as_layout(x1, plain_md(s1));
    }
  }
  algorithm alg = algorithm::binary_add;
  switch (n.op) {
    case OpType::Sub: alg = algorithm::binary_sub; break;
    case OpType::Mul: alg = algorithm::binary_mul; break;
    case OpType::Div: alg = algorithm::binary_div; break;
    case OpType::Max: alg = algorithm::binary_max; break;
    case OpType::Min: alg = algorithm::binary_min; break;
    default: break;
  }
  dnnl::primitive_attr attr = activation_attr(n.attrs);
  if (n.attrs.reversed) {
    if (n.op == OpType::Div) return false;  // c / x: reference
    // c - x = -(x - c): oneDNN's linear post-op before any fused activation.
    dnnl::post_ops ops;
    ops.append_eltwise(1.0f, algorithm::eltwise_linear, -1.0f, 0.0f);
    const dnnl::post_ops act = activation_post_ops(n.attrs);
    if (act.len() > 0) return false;
    attr.set_post_ops(ops);
  }
  dnnl::binary::desc d(alg, src0.get_desc(), src1.get_desc(), src0.get_desc());
  dnnl::binary::primitive_desc pd(d, attr, cpu_engine());
  b.set_layout(y, pd.dst_desc());
  b.add_step(dnnl::binary(pd),
             {{DNNL_ARG_SRC_0, src0}, {DNNL_ARG_SRC_1, src1}, {DNNL_ARG_DST, b.mem[y]}},
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

// Operands in their ONNX order (a reversed Sub/Div had its constant first).
QdqTail binary_qdq(QdqWriter& w, const Node& n, const std::string& y) {
  std::vector<std::string> ins = {w.input(n.inputs[0]), w.input(n.inputs[1])};
  if (n.attrs.reversed) std::swap(ins[0], ins[1]);
  w.node(std::string(op_name(n.op)), n.name, ins, y);
  return QdqTail::Finish;
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

// Sub, Div, Max, Min, PRelu: float and simulated (the integer forms are the next step).
#define GAMMAQ_BINARY(e, sign, qdq_hook)                                                   \
  const OpDef e {                                                                          \
    .op = OpType::e, .import = import_binary, .check_shape = onnx_import::check_broadcast, \
    .rank = binary_rank, .reference = binary_reference, .nonnegative = sign,               \
    .rounded = binary_rounded, .fast = binary_fast, .no_integer = "no integer form yet",   \
    .qdq = qdq_hook, .takes_activation = true                                              \
  }
GAMMAQ_BINARY(Sub, nullptr, binary_qdq);
GAMMAQ_BINARY(Div, nullptr, binary_qdq);
GAMMAQ_BINARY(Max, nonnegative_if_input, binary_qdq);
GAMMAQ_BINARY(Min, nullptr, binary_qdq);
GAMMAQ_BINARY(PRelu, nullptr, nullptr);
#undef GAMMAQ_BINARY
// Imported as Add (two operands) or Identity (one).
const OpDef Sum{.op = OpType::Sum, .import = import_binary, .rank = binary_rank};

}  // namespace defs
}  // namespace gammaq::ops
