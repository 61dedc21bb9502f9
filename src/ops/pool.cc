// Pooling: MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool (2-D, NCHW), and ReduceMean /
// ReduceMax over H and W, imported as the global pools (with a Reshape when keepdims=0).
#include <algorithm>
#include <cmath>

#include "export/qdq_writer.h"
#include "kernels/fast/fast_builder.h"
#include "kernels/integer/integer.h"
#include "kernels/reference/loops.h"
#include "onnx/import_rules.h"
#include "ops/common.h"

namespace gammaq::ops {
namespace {

using onnx_import::NodeIo;

Imported import_pool(NodeIo& io, Node& node) {
  Attributes& at = node.attrs;
  const bool max = io.op == OpType::MaxPool;
  node.inputs = {io.activation(0)};
  const Shape& x = io.shape_of(node.inputs[0]);
  at.kernel = onnx_import::positive_ints(io.a, "kernel_shape", {}, 2);
  onnx_import::window_attrs(io.a, x, at, max);
  for (int i = 0; i < 4; ++i)
    if (at.pads[i] >= at.kernel[i % 2])
      io.a.fail("pads", str_cat("value ", at.pads[i], " must be smaller than the kernel (",
                                at.kernel[i % 2], ")"));
  at.ceil_mode = io.a.i("ceil_mode", 0) != 0;
  at.count_include_pad = io.a.i("count_include_pad", 0) != 0;
  if (max && io.a.i("storage_order", 0) != 0) io.a.unsupported("storage_order=1 is not supported");
  io.single_output();
  return Imported::Node;
}

Imported import_global_pool(NodeIo& io, Node& node) {
  node.inputs = {io.activation(0)};
  if (io.shape_of(node.inputs[0]).size() != 4) io.a.unsupported("only 4-D inputs");
  return Imported::Node;
}

void pool_reference(const Node& n, std::span<const Tensor* const> in, Tensor& y) {
  const Tensor& x = *in[0];
  const kernels::WindowGeom g = kernels::window_geom(n.attrs, x.shape, y.shape);
  if (n.op == OpType::MaxPool)
    kernels::maxpool2d_f32_ref(g, x.data.data(), y.data.data());
  else
    kernels::avgpool2d_f32_ref(g, n.attrs.count_include_pad, x.data.data(), y.data.data());
}

// ReduceMean/ReduceMax over the spatial axes: the global pool, then (keepdims=0) a Reshape to
// [N, C]. Other axes (channels, the batch) are not a CNN's pooling: refused.
Imported import_reduce(NodeIo& io, Node& node) {
  const int x = io.activation(0);
  const Shape xs = io.shape_of(x);  // a copy: emit() grows the values
  if (xs.size() != 4) io.a.unsupported("only 4-D inputs");
  std::vector<int64_t> axes = io.a.ints("axes", {});
  if (io.ctx.g.opset >= 18 && io.has_input(1)) io.a.unsupported("axes must be an attribute");
  for (int64_t& a : axes)
    if (a < 0) a += 4;
  std::sort(axes.begin(), axes.end());
  if (axes != std::vector<int64_t>{2, 3})
    io.a.unsupported("only the spatial axes [2, 3] (a global pool)");
  node.op = io.op == OpType::ReduceMean ? OpType::GlobalAveragePool : OpType::GlobalMaxPool;
  node.inputs = {x};
  const Shape out = io.inferred(0);
  const Shape pooled = {xs[0], xs[1], 1, 1};
  if (io.a.i("keepdims", 1) != 0) {
    if (out != pooled)
      io.invalid(str_cat("output shape ", shape_str(out), ", expected ", shape_str(pooled)));
    io.emit(std::move(node), io.n.output(0), out);
    return Imported::Emitted;
  }
  if (out != Shape{xs[0], xs[1]})
    io.invalid(str_cat("output shape ", shape_str(out), ", expected [1, ", xs[1], "]"));
  const std::string name = node.name;
  const int p = io.emit(std::move(node), io.n.output(0) + "/pooled", pooled);
  Node r;
  r.name = name + "/squeeze";
  r.op = OpType::Reshape;
  r.inputs = {p};
  r.attrs.reshape = out;
  io.emit(std::move(r), io.n.output(0), out);
  return Imported::Emitted;
}

int reduce_rank(const onnx_import::RankIo& r) {
  for (const auto& a : r.n.attribute())
    if (a.name() == "keepdims" && a.i() == 0) return std::max(r.in_rank(0) - 2, -1);
  return r.in_rank(0);
}

void global_pool_reference(const Node& n, std::span<const Tensor* const> in, Tensor& y) {
  const Tensor& x = *in[0];
  const int64_t hw = x.shape[2] * x.shape[3];
  if (n.op == OpType::GlobalMaxPool)
    kernels::global_maxpool_f32_ref(x.shape[0], x.shape[1], hw, x.data.data(), y.data.data());
  else
    kernels::global_avgpool_f32_ref(x.shape[0], x.shape[1], hw, x.data.data(), y.data.data());
}

// Average pooling simulated as the integer engine computes it: the exact quotient of the codes'
// sum by the count, rounded once (quant::requantize_ratio).
void average_rounded(const Node& n, std::span<const Tensor* const> in, Tensor& y,
                     const kernels::OutputQuant& q) {
  const Tensor& x = *in[0];
  float* out = y.data.data();
  const int fi = q.in_frac.at(0);
  auto store = [&](int64_t i, double sum, int64_t count) {
    const int64_t c = count ? quant::requantize_ratio(static_cast<int64_t>(std::ldexp(sum, fi)),
                                                      count, fi - q.out.frac, q.out, q.rounding)
                            : 0;
    out[i] = static_cast<float>(quant::dequantize(c, q.out));
  };
  if (n.op == OpType::AveragePool)
    kernels::avgpool2d_loop<double>(kernels::window_geom(n.attrs, x.shape, y.shape),
                                    n.attrs.count_include_pad, x.data.data(), store);
  else
    kernels::global_avgpool_loop<double>(x.shape[0], x.shape[1], x.shape[2] * x.shape[3],
                                         x.data.data(), store);
}

// oneDNN pooling where its padding model can express ONNX's: no dilation, and (ceil_mode) the
// bottom/right overhang as padding, which only average pooling excluding pads ignores alike.
bool pool_fast(kernels::FastGraphImpl& b, const Node& n) {
  using namespace kernels;
  const int x = n.inputs[0], y = n.outputs[0];
  const Shape xs = b.batch_shape(x), ys = b.batch_shape(y);
  Attributes a = n.attrs;
  if (n.op == OpType::GlobalAveragePool || n.op == OpType::GlobalMaxPool) {
    a.kernel = {xs[2], xs[3]};
    a.strides = {1, 1};
    a.pads = {0, 0, 0, 0};
    a.dilations = {1, 1};
  }
  const WindowGeom w = window_geom(a, xs, ys);
  if (w.dh != 1 || w.dw != 1) return false;
  // oneDNN needs the right/bottom padding that yields ONNX's (possibly ceil_mode) size.
  const int64_t pb = (w.oh - 1) * w.sh + w.kh - w.h - w.pt;
  const int64_t pr = (w.ow - 1) * w.sw + w.kw - w.w - w.pl;
  const bool overhang = pb > w.pb || pr > w.pr;
  dnnl::algorithm alg = dnnl::algorithm::pooling_max;
  if (n.op != OpType::MaxPool && n.op != OpType::GlobalMaxPool) {
    if (a.count_include_pad && overhang) return false;  // ORT excludes the overhang
    alg = a.count_include_pad ? dnnl::algorithm::pooling_avg_include_padding
                              : dnnl::algorithm::pooling_avg_exclude_padding;
  }
  if (pb < 0 || pr < 0 || w.pt >= w.kh || w.pl >= w.kw || pb >= w.kh || pr >= w.kw) return false;
  dnnl::pooling_forward::desc d(dnnl::prop_kind::forward_inference, alg, b.md[x],
                                memory::desc(dims_of(ys), dt::f32, tag::any), {w.sh, w.sw},
                                {w.kh, w.kw}, {w.pt, w.pl}, {pb, pr});
  b.add_src_dst_step<dnnl::pooling_forward>(x, y, {d, base_attr(), cpu_engine()});
  return true;
}

void maxpool_integer(IntegerStep& s) {
  const kernels::WindowGeom g = kernels::window_geom(s.n.attrs, s.xs, s.ys);
  if (s.fast)
    kernels::maxpool2d_int(g, s.x, s.in.stage, s.y.data());
  else
    kernels::maxpool2d_int_ref(g, s.x, s.in.stage, s.y.data());
}

void avgpool_integer(IntegerStep& s) {
  kernels::avgpool2d_int_ref(kernels::window_geom(s.n.attrs, s.xs, s.ys),
                             s.n.attrs.count_include_pad, s.x, s.in.stage, s.y.data());
}

void global_avgpool_integer(IntegerStep& s) {
  kernels::global_avgpool_int_ref(s.xs[0], s.xs[1], s.xs[2] * s.xs[3], s.x, s.in.stage, s.y.data());
}

void avgpool_json(const Node& n, const IntegerNode&, nlohmann::ordered_json& e) {
  e["count_include_pad"] = n.attrs.count_include_pad;
}

QdqTail pool_qdq(QdqWriter& w, const Node& n, const std::string& y) {
  auto* p = w.node(std::string(op_name(n.op)), n.name, {w.input(n.inputs[0])}, y);
  QdqWriter::window(p, n.attrs);
  QdqWriter::attr(p, "ceil_mode", int64_t{n.attrs.ceil_mode});
  if (n.op == OpType::MaxPool)
    QdqWriter::attr(p, "dilations", n.attrs.dilations);
  else
    QdqWriter::attr(p, "count_include_pad", int64_t{n.attrs.count_include_pad});
  return QdqTail::Finish;
}

}  // namespace

namespace defs {

const OpDef MaxPool{.op = OpType::MaxPool,
                    .import = import_pool,
                    .rank = onnx_import::image_rank,
                    .reference = pool_reference,
                    .nonnegative = nonnegative_if_input,
                    .fast = pool_fast,
                    .integer_plan = plan_requantize,
                    .integer_run = maxpool_integer,
                    .qdq = pool_qdq,
                    .windowed = true};

const OpDef AveragePool{.op = OpType::AveragePool,
                        .import = import_pool,
                        .rank = onnx_import::image_rank,
                        .reference = pool_reference,
                        .nonnegative = nonnegative_if_input,
                        .rounded = average_rounded,
                        .fast = pool_fast,
                        .integer_plan = plan_requantize,
                        .integer_run = avgpool_integer,
                        .export_json = avgpool_json,
                        .qdq = pool_qdq,
                        .windowed = true};

const OpDef GlobalAveragePool{.op = OpType::GlobalAveragePool,
                              .import = import_global_pool,
                              .rank = onnx_import::image_rank,
                              .reference = global_pool_reference,
                              .nonnegative = nonnegative_if_input,
                              .rounded = average_rounded,
                              .fast = pool_fast,
                              .integer_plan = plan_requantize,
                              .integer_run = global_avgpool_integer};

const OpDef GlobalMaxPool{.op = OpType::GlobalMaxPool,
                          .import = import_global_pool,
                          .rank = onnx_import::image_rank,
                          .reference = global_pool_reference,
                          .nonnegative = nonnegative_if_input,
                          .fast = pool_fast,
                          .no_integer = "no integer form yet"};

const OpDef ReduceMean{.op = OpType::ReduceMean, .import = import_reduce, .rank = reduce_rank};
const OpDef ReduceMax{.op = OpType::ReduceMax, .import = import_reduce, .rank = reduce_rank};

}  // namespace defs
}  // namespace gammaq::ops
