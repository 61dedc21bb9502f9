// Conv, ConvTranspose, Gemm and MatMul: the layers, the operators with quantized weights and
// biases. MatMul and every Gemm form are imported as one canonical Gemm: weight [out, in],
// optional bias [out], alpha and beta folded in. ConvTranspose's weight is stored as a
// convolution's, [M, C/group, kh, kw] (ONNX writes [C, M/group, kh, kw]), so that per-channel
// formats, bias correction and batch-norm folding read output channels along dimension 0.
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

// ConvTranspose: ONNX weight [C, M/group, kh, kw] rearranged to [M, C/group, kh, kw]; pads
// explicit, from output_shape or auto_pad where given; the output size from shape inference,
// checked against s * (in - 1) + output_padding + (k - 1) * d + 1 - pads.
Imported import_conv_transpose(NodeIo& io, Node& node) {
  Attributes& at = node.attrs;
  const int x_id = io.activation(0), w_id = io.weight(1, "weight");
  const Shape& x = io.shape_of(x_id);
  const Tensor& w = io.ctx.g.values[w_id].data;
  if (w.rank() != 4 || x.size() != 4)
    io.a.unsupported(str_cat("weight rank ", w.rank(), "; only 2-D transposed convolution"));
  at.group = io.a.i("group", 1);
  if (at.group < 1 || x[1] != w.shape[0] || w.shape[0] % at.group != 0)
    io.a.fail("group", str_cat("= ", at.group, " does not fit input ", shape_str(x), " and weight ",
                               shape_str(w.shape)));
  const int64_t cg = w.shape[0] / at.group, mg = w.shape[1], m = mg * at.group;
  at.kernel = {w.shape[2], w.shape[3]};
  if (io.a.ints("kernel_shape", at.kernel) != at.kernel)
    io.a.fail("kernel_shape", str_cat("disagrees with the weight shape ", shape_str(w.shape)));
  at.strides = onnx_import::positive_ints(io.a, "strides", {1, 1}, 2);
  at.dilations = onnx_import::positive_ints(io.a, "dilations", {1, 1}, 2);
  const std::vector<int64_t> out_pad = io.a.ints("output_padding", {0, 0});
  if (out_pad.size() != 2) io.a.fail("output_padding", "must hold 2 values");
  const Shape y = io.inferred(0);
  if (y.size() != 4 || y[1] != m)
    io.invalid(str_cat("output shape ", shape_str(y), ", expected ", m, " channels"));
  const std::string auto_pad = io.a.s("auto_pad", "NOTSET");
  at.pads = io.a.ints("pads", {0, 0, 0, 0});
  if (at.pads.size() != 4) io.a.fail("pads", "must hold 4 values");
  for (int k = 0; k < 2; ++k) {
    const auto d = static_cast<size_t>(k);
    const int64_t full =
        at.strides[d] * (x[d + 2] - 1) + out_pad[d] + (at.kernel[d] - 1) * at.dilations[d] + 1;
    if (out_pad[d] < 0 || (out_pad[d] >= at.strides[d] && out_pad[d] >= at.dilations[d]))
      io.a.fail("output_padding", "must be smaller than the stride or the dilation");
    if (io.a.find("output_shape") || auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      const int64_t total = full - y[d + 2];
      if (total < 0) io.a.unsupported("an output_shape larger than the full transposed output");
      const bool upper = auto_pad == "SAME_UPPER";
      at.pads[d] = upper ? total / 2 : total - total / 2;
      at.pads[d + 2] = total - at.pads[d];
    } else if (auto_pad != "NOTSET" && auto_pad != "VALID") {
      io.a.fail("auto_pad", str_cat("value '", auto_pad, "' is not an ONNX auto_pad"));
    }
    if (at.pads[d] < 0 || at.pads[d + 2] < 0) io.a.fail("pads", "must not be negative");
    if (full - at.pads[d] - at.pads[d + 2] != y[d + 2])
      io.invalid(str_cat("output shape ", shape_str(y),
                         " disagrees with the strides, pads and "
                         "output_padding"));
  }
  Tensor wt(Shape{m, cg, w.shape[2], w.shape[3]});
  const int64_t taps = w.shape[2] * w.shape[3];
  for (int64_t gi = 0; gi < at.group; ++gi)
    for (int64_t c = 0; c < cg; ++c)
      for (int64_t o = 0; o < mg; ++o)
        std::copy_n(w.data.begin() + ((gi * cg + c) * mg + o) * taps, taps,
                    wt.data.begin() + ((gi * mg + o) * cg + c) * taps);
  node.inputs = {x_id,
                 io.ctx.add_internal_constant(io.ctx.g.values[w_id].name + "#oihw", std::move(wt))};
  if (io.has_input(2)) {
    node.inputs.push_back(io.weight(2, "bias"));
    if (io.shape_of(node.inputs[2]) != Shape{m})
      io.invalid(str_cat("bias shape ", shape_str(io.shape_of(node.inputs[2])), ", expected ", m));
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

// The window geometry of a Conv or ConvTranspose node.
kernels::WindowGeom conv_geom(const Node& n, const Shape& x, const Shape& y) {
  kernels::WindowGeom g = kernels::window_geom(n.attrs, x, y);
  g.transposed = n.op == OpType::ConvTranspose;
  return g;
}

void conv_reference(const Node& n, std::span<const Tensor* const> in, Tensor& y) {
  const Tensor& x = *in[0];
  kernels::conv2d_f32_ref(conv_geom(n, x.shape, y.shape), x.data.data(), input_data(in, 1),
                          input_data(in, 2), y.data.data(), n.attrs);
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
      conv_geom(n, x.shape, y.shape), x.data.data(), input_data(in, 1),
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
  const WindowGeom w = conv_geom(n, xs, ys);
  const memory::dims wd = w.group == 1
                              ? memory::dims{w.m, w.c, w.kh, w.kw}
                              : memory::dims{w.group, w.m / w.group, w.c / w.group, w.kh, w.kw};
  const memory::desc w_user(wd, dt::f32, w.group == 1 ? tag::oihw : tag::goihw);
  const memory::desc any_src(dims_of(xs), dt::f32, tag::any);
  const memory::desc any_dst(dims_of(ys), dt::f32, tag::any);
  const memory::desc b_md({w.m}, dt::f32, tag::x);
  if (w.transposed) {
    // oneDNN sizes the output as (in - 1) * s + (k - 1) * d + 1 - pads: the bottom and right
    // pads that give ONNX's size (output_padding included).
    const int64_t pb = (w.h - 1) * w.sh + (w.kh - 1) * w.dh + 1 - w.pt - w.oh;
    const int64_t pr = (w.w - 1) * w.sw + (w.kw - 1) * w.dw + 1 - w.pl - w.ow;
    if (pb < 0 || pr < 0) return false;
    dnnl::deconvolution_forward::desc d(dnnl::prop_kind::forward_inference,
                                        dnnl::algorithm::deconvolution_direct, any_src,
                                        memory::desc(wd, dt::f32, tag::any), b_md, any_dst,
                                        {w.sh, w.sw}, {w.dh - 1, w.dw - 1}, {w.pt, w.pl}, {pb, pr});
    dnnl::deconvolution_forward::primitive_desc pd(d, activation_attr(n.attrs), cpu_engine());
    const memory src = b.as_layout(x, pd.src_desc());
    b.set_layout(y, pd.dst_desc());
    b.add_weighted_step<dnnl::deconvolution_forward>(pd, n, src, y, w_user, w.m);
    return true;
  }
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

// ConvTranspose: the dequantized weight, in gammaq's [M, C/group, kh, kw], rearranged back to
// ONNX's [C, M/group, kh, kw] by Transpose (Reshapes around it for groups); ONNX Runtime folds
// them. output_padding restores the size the pads alone do not give.
QdqTail conv_transpose_qdq(QdqWriter& w, const Node& n, const std::string& y) {
  std::vector<std::string> ins = w.layer_inputs(n);
  const Shape& ws = w.g_.values[static_cast<size_t>(n.inputs[1])].shape;
  const Shape& xs = w.g_.values[static_cast<size_t>(n.inputs[0])].shape;
  const Shape& ys = w.g_.values[static_cast<size_t>(n.outputs[0])].shape;
  const Attributes& a = n.attrs;
  const int64_t g = a.group, mg = ws[0] / g, cg = ws[1];
  const std::string base = ins[1];
  std::string t = base + "/oihw_to_iohw";
  if (g == 1) {
    QdqWriter::attr(w.node("Transpose", base + "/Transpose", {base}, t), "perm",
                    std::vector<int64_t>{1, 0, 2, 3});
  } else {
    const std::string r5 = base + "/grouped", t5 = base + "/grouped_t";
    w.node("Reshape", base + "/Reshape", {base, w.int64s(base + "/g5", {g, mg, cg, ws[2], ws[3]})},
           r5);
    QdqWriter::attr(w.node("Transpose", base + "/Transpose", {r5}, t5), "perm",
                    std::vector<int64_t>{0, 2, 1, 3, 4});
    w.node("Reshape", base + "/Reshape4", {t5, w.int64s(base + "/g4", {g * cg, mg, ws[2], ws[3]})},
           t);
  }
  ins[1] = t;
  auto* c = w.node("ConvTranspose", n.name, ins, y);
  QdqWriter::window(c, a);
  QdqWriter::attr(c, "dilations", a.dilations);
  QdqWriter::attr(c, "group", a.group);
  std::vector<int64_t> out_pad(2);
  for (size_t d = 0; d < 2; ++d)
    out_pad[d] = ys[d + 2] - (a.strides[d] * (xs[d + 2] - 1) + (a.kernel[d] - 1) * a.dilations[d] +
                              1 - a.pads[d] - a.pads[d + 2]);
  if (out_pad[0] != 0 || out_pad[1] != 0) QdqWriter::attr(c, "output_padding", out_pad);
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

const OpDef ConvTranspose{.op = OpType::ConvTranspose,
                          .import = import_conv_transpose,
                          .rank = conv_rank,
                          .reference = conv_reference,
                          .rounded = conv_rounded,
                          .fast = conv_fast,
                          .no_integer = "no integer form yet",
                          .qdq = conv_transpose_qdq,
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
