// Conv, Gemm and MatMul: the layers, the operators with quantized weights and biases.
// MatMul and every Gemm form are imported as one canonical Gemm: weight [out, in], optional
// bias [out], alpha and beta folded in.
#include <algorithm>
#include <cmath>

#include "engine/integer_ops.h"
#include "export/qdq_writer.h"
#include "kernels/fast/fast_builder.h"
#include "kernels/integer/integer.h"
#include "kernels/reference/loops.h"
#include "onnx/import_rules.h"
#include "ops/common.h"

namespace gammaq::ops {
namespace {

using onnx_import::NodeIo;

// ---------------------------------------------------------------- import

Imported import_conv(NodeIo& io, Node& node) {
  Attributes& at = node.attrs;
  node.inputs = {io.activation(0), io.weight(1, "weight")};
  const Shape& x = io.shape_of(node.inputs[0]);
  const Shape& w = io.shape_of(node.inputs[1]);
  if (w.size() != 4) io.a.unsupported(str_cat("weight rank ", w.size(), "; only 2-D convolution"));
  at.group = io.a.i("group", 1);
  if (at.group < 1 || x.size() != 4 || x[1] % at.group != 0 || w[0] % at.group != 0 ||
      w[1] * at.group != x[1])
    io.a.fail("group", str_cat("= ", at.group, " does not fit input ", shape_str(x), " and weight ",
                               shape_str(w)));
  at.kernel = {w[2], w[3]};
  if (io.a.ints("kernel_shape", at.kernel) != at.kernel)
    io.a.fail("kernel_shape", str_cat("disagrees with the weight shape ", shape_str(w)));
  onnx_import::window_attrs(io.a, x, at, true);
  if (io.has_input(2)) {
    node.inputs.push_back(io.weight(2, "bias"));
    if (io.shape_of(node.inputs[2]) != Shape{w[0]})
      io.invalid(
          str_cat("bias shape ", shape_str(io.shape_of(node.inputs[2])), ", expected ", w[0]));
  }
  return Imported::Node;
}

int conv_rank(const onnx_import::RankIo& r) {
  onnx_import::image_rank(r);
  if (r.in_rank(1) != 4)
    throw Error(ErrorKind::UnsupportedOp,
                str_cat(r.label, ": weight rank ", r.in_rank(1), "; expected 4"));
  return 4;
}

Imported import_gemm(NodeIo& io, Node& node) {
  const bool gemm = io.op == OpType::Gemm;
  const int x_id = io.activation(0);
  const Shape& x = io.shape_of(x_id);
  if (x.size() != 2)
    io.a.unsupported(str_cat("input rank ", x.size(), "; only 2-D inputs [N, K] (use Flatten)"));
  if (io.a.i("transA", 0) != 0) io.a.unsupported("transA=1 is not supported");
  const int w_id = io.weight(1, "weight");
  const Tensor& w = io.ctx.g.values[w_id].data;
  if (w.rank() != 2) io.invalid(str_cat("weight shape ", shape_str(w.shape), ", expected 2-D"));
  const bool trans_b = gemm && io.a.i("transB", 0) != 0;
  const float alpha = gemm ? io.a.f("alpha", 1.0f) : 1.0f;
  const float beta = gemm ? io.a.f("beta", 1.0f) : 1.0f;
  const int64_t k = trans_b ? w.shape[1] : w.shape[0];
  const int64_t out = trans_b ? w.shape[0] : w.shape[1];
  if (k != x[1])
    io.invalid(str_cat("weight ", shape_str(w.shape), " does not match input ", shape_str(x)));
  Tensor wt(Shape{out, k});
  for (int64_t o = 0; o < out; ++o)
    for (int64_t i = 0; i < k; ++i)
      wt.data[o * k + i] = alpha * (trans_b ? w.data[o * k + i] : w.data[i * out + o]);
  node.op = OpType::Gemm;
  node.inputs = {x_id,
                 io.ctx.add_internal_constant(io.ctx.g.values[w_id].name + "#gemm", std::move(wt))};
  if (gemm && io.has_input(2)) {
    const Value& c = io.ctx.g.values[io.weight(2, "bias")];
    if (c.data.numel() != out && c.data.numel() != 1)
      io.a.unsupported(
          str_cat("bias shape ", shape_str(c.shape), "; expected [", out, "] or a scalar"));
    Tensor b(Shape{out});
    for (int64_t o = 0; o < out; ++o) b.data[o] = beta * c.data.data[c.data.numel() == 1 ? 0 : o];
    node.inputs.push_back(io.ctx.add_internal_constant(c.name + "#gemm", std::move(b)));
  }
  return Imported::Node;
}

int gemm_rank(const onnx_import::RankIo&) { return 2; }

// ---------------------------------------------------------------- float

void conv_reference(const Node& n, std::span<const Tensor* const> in, Tensor& y) {
  const Tensor& x = *in[0];
  kernels::conv2d_f32_ref(kernels::window_geom(n.attrs, x.shape, y.shape), x.data.data(),
                          input_data(in, 1), input_data(in, 2), y.data.data(), n.attrs);
}

void gemm_reference(const Node& n, std::span<const Tensor* const> in, Tensor& y) {
  const Tensor& x = *in[0];
  kernels::gemm_f32_ref(x.shape[0], x.numel() / x.shape[0], y.shape[1], x.data.data(),
                        input_data(in, 1), input_data(in, 2), y.data.data(), n.attrs);
}

// The exact simulation: products of gridded values summed in double, rounded once.
void conv_rounded(const Node& n, std::span<const Tensor* const> in, Tensor& y,
                  const kernels::OutputQuant& q) {
  const Tensor& x = *in[0];
  const float* b = input_data(in, 2);
  float* out = y.data.data();
  kernels::conv2d_loop<double>(
      kernels::window_geom(n.attrs, x.shape, y.shape), x.data.data(), input_data(in, 1),
      [b](int64_t m) { return b ? static_cast<double>(b[m]) : 0.0; },
      [&](int64_t i, int64_t, double acc) { out[i] = round_activated(acc, n.attrs, q); });
}

void gemm_rounded(const Node& n, std::span<const Tensor* const> in, Tensor& y,
                  const kernels::OutputQuant& q) {
  const Tensor& x = *in[0];
  const float* b = input_data(in, 2);
  float* out = y.data.data();
  kernels::gemm_loop<double>(
      x.shape[0], x.numel() / x.shape[0], y.shape[1], x.data.data(), input_data(in, 1),
      [b](int64_t o) { return b ? static_cast<double>(b[o]) : 0.0; },
      [&](int64_t i, int64_t, double acc) { out[i] = round_activated(acc, n.attrs, q); });
}

// ---------------------------------------------------------------- fast

bool conv_fast(kernels::FastGraphImpl& b, const Node& n) {
  using namespace kernels;
  const int x = n.inputs[0], y = n.outputs[0];
  const Shape xs = b.batch_shape(x), ys = b.batch_shape(y);
  const WindowGeom w = window_geom(n.attrs, xs, ys);
  const memory::dims wd = w.group == 1
                              ? memory::dims{w.m, w.c, w.kh, w.kw}
                              : memory::dims{w.group, w.m / w.group, w.c / w.group, w.kh, w.kw};
  const memory::desc w_user(wd, dt::f32, w.group == 1 ? tag::oihw : tag::goihw);
  const memory::desc any_src(dims_of(xs), dt::f32, tag::any);
  const memory::desc any_dst(dims_of(ys), dt::f32, tag::any);
  const memory::desc b_md({w.m}, dt::f32, tag::x);
  dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference,
                                    dnnl::algorithm::convolution_direct, any_src,
                                    memory::desc(wd, dt::f32, tag::any), b_md, any_dst,
                                    {w.sh, w.sw}, {w.dh - 1, w.dw - 1}, {w.pt, w.pl}, {w.pb, w.pr});
  dnnl::convolution_forward::primitive_desc pd(d, activation_attr(n.attrs), cpu_engine());
  const memory src = b.as_layout(x, pd.src_desc());
  b.set_layout(y, pd.dst_desc());
  b.add_weighted_step<dnnl::convolution_forward>(pd, n, src, y, w_user, w.m);
  return true;
}

bool gemm_fast(kernels::FastGraphImpl& b, const Node& n) {
  using namespace kernels;
  const int x = n.inputs[0], y = n.outputs[0];
  const Shape xs = b.batch_shape(x), ys = b.batch_shape(y);
  const int64_t k = shape_numel(xs) / b.batch, out = ys[1];
  const memory::desc src_md({b.batch, k}, dt::f32, tag::nc);
  const memory::desc w_user({out, k}, dt::f32, tag::oi);
  const memory::desc b_md({out}, dt::f32, tag::x);
  dnnl::inner_product_forward::desc d(dnnl::prop_kind::forward_inference, src_md,
                                      memory::desc({out, k}, dt::f32, tag::any), b_md,
                                      memory::desc({b.batch, out}, dt::f32, tag::nc));
  dnnl::inner_product_forward::primitive_desc pd(d, activation_attr(n.attrs), cpu_engine());
  b.ensure_plain_input(x);
  const memory src(src_md, cpu_engine(), b.plain[x].data.data());
  b.set_plain_layout(y);
  b.add_weighted_step<dnnl::inner_product_forward>(pd, n, src, y, w_user, out);
  return true;
}

// ---------------------------------------------------------------- integer

// Bit length of v > 0.
int bit_length(uint64_t v) {
  int b = 0;
  while (v) {
    ++b;
    v >>= 1;
  }
  return b;
}

// Weight and bias codes, the per-channel output shifts, and the accumulator width the codes
// can reach: |bias| + sum |w| * max |x| per channel.
void plan_layer(IntegerPlanner& p, const Node& n, IntegerNode& in) {
  const quant::Format& xf = p.format(n.inputs[0]);
  const quant::Format& out = p.format(n.outputs[0]);
  const quant::LayerFormat& lf = p.plan().layers.at(n.name);
  in.codes = layer_codes(p.graph(), n, lf, xf, p.rounding());
  std::vector<int> shift;
  for (int fw : in.codes.weight_frac) shift.push_back(fw + xf.frac - out.frac);
  in.stage = p.stage(n, std::move(shift));
  const uint64_t xmax = static_cast<uint64_t>(std::max(-xf.qmin(), xf.qmax()));
  const size_t channels = in.codes.weight_frac.size();
  const size_t per = in.codes.weight.size() / channels;
  uint64_t bound = 0;
  for (size_t m = 0; m < channels; ++m) {
    unsigned __int128 b =
        in.codes.bias.empty() ? 0 : static_cast<unsigned __int128>(std::llabs(in.codes.bias[m]));
    for (size_t k = m * per; k < (m + 1) * per; ++k)
      b += static_cast<unsigned __int128>(std::abs(in.codes.weight[k])) * xmax;
    if (b >= (static_cast<unsigned __int128>(1) << 62))
      throw Error(
          ErrorKind::Numerical,
          str_cat("layer '", n.name, "': the accumulator may exceed int64 (", out.bits,
                  "-bit output, ", xf.bits, "-bit input); use fewer bits or per-channel formats"));
    bound = std::max(bound, static_cast<uint64_t>(b));
  }
  in.accumulator_bits = bit_length(bound) + 1;
  in.wide = bound > static_cast<uint64_t>(INT32_MAX);
  in.int8 = n.op == OpType::Conv && kernels::int8_conv_applies(xf, lf.weight, in.wide);
}

void conv_integer(IntegerStep& s) {
  const kernels::WindowGeom geom = kernels::window_geom(s.n.attrs, s.xs, s.ys);
  if (kernels::Int8Conv* c = s.fast && s.in.int8 ? s.fast->conv(s.p, s.index, geom) : nullptr)
    c->run(s.x, s.in.stage, s.y.data());
  else
    kernels::conv2d_int(geom, s.x, s.in.codes.weight.data(), s.bias(), s.in.stage, s.in.wide,
                        s.y.data());
}

void gemm_integer(IntegerStep& s) {
  kernels::gemm_int(s.batch, shape_numel(s.xs) / s.batch, s.ys[1], s.x, s.in.codes.weight.data(),
                    s.bias(), s.in.stage, s.in.wide, s.y.data());
}

void conv_json(const Node& n, const IntegerNode&, nlohmann::ordered_json& e) {
  e["group"] = n.attrs.group;
}

// ---------------------------------------------------------------- QDQ

QdqTail conv_qdq(QdqWriter& w, const Node& n, const std::string& y) {
  auto* c = w.node("Conv", n.name, w.layer_inputs(n), y);
  QdqWriter::window(c, n.attrs);
  QdqWriter::attr(c, "dilations", n.attrs.dilations);
  QdqWriter::attr(c, "group", n.attrs.group);
  return QdqTail::Finish;
}

QdqTail gemm_qdq(QdqWriter& w, const Node& n, const std::string& y) {
  QdqWriter::attr(w.node("Gemm", n.name, w.layer_inputs(n), y), "transB", int64_t{1});
  return QdqTail::Finish;
}

}  // namespace

namespace defs {

const OpDef Conv{.op = OpType::Conv,
                 .import = import_conv,
                 .rank = conv_rank,
                 .reference = conv_reference,
                 .rounded = conv_rounded,
                 .fast = conv_fast,
                 .integer_plan = plan_layer,
                 .integer_run = conv_integer,
                 .export_json = conv_json,
                 .qdq = conv_qdq,
                 .weighted = true,
                 .windowed = true,
                 .takes_activation = true};

const OpDef Gemm{.op = OpType::Gemm,
                 .import = import_gemm,
                 .rank = gemm_rank,
                 .reference = gemm_reference,
                 .rounded = gemm_rounded,
                 .fast = gemm_fast,
                 .integer_plan = plan_layer,
                 .integer_run = gemm_integer,
                 .qdq = gemm_qdq,
                 .weighted = true,
                 .takes_activation = true};

// Imported as Gemm: never in a Graph.
const OpDef MatMul{.op = OpType::MatMul, .import = import_gemm, .rank = gemm_rank};

}  // namespace defs
}  // namespace gammaq::ops
