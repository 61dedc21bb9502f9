// LRN across channels (ONNX: y = x / (bias + alpha/size * sum of x^2 over the window)^beta).
// Its fixed point is the integer engine's: the multiplier (bias + ...)^-beta as a
// kLrnMultiplierBits-bit integer per input-code square sum (kernels/integer/integer.h).
#include <cmath>

#include "export/qdq_writer.h"
#include "kernels/fast/fast_builder.h"
#include "kernels/integer/integer.h"
#include "onnx/import_rules.h"
#include "ops/common.h"

namespace gammaq::ops {
namespace {

Imported import_lrn(onnx_import::NodeIo& io, Node& node) {
  Attributes& at = node.attrs;
  node.inputs = {io.activation(0)};
  at.size = io.a.i("size", 0);
  if (at.size < 1) io.a.fail("size", "must be >= 1");
  at.alpha = io.a.f("alpha", 1e-4f);
  at.beta = io.a.f("beta", 0.75f);
  at.bias = io.a.f("bias", 1.0f);
  if (io.shape_of(node.inputs[0]).size() != 4) io.a.unsupported("only 4-D inputs");
  return Imported::Node;
}

void lrn_reference(const Node& n, std::span<const Tensor* const> in, Tensor& y) {
  const Tensor& x = *in[0];
  kernels::lrn_f32_ref(x.shape[0], x.shape[1], x.shape[2] * x.shape[3], n.attrs, x.data.data(),
                       y.data.data());
}

// Simulated through the integer kernel itself: codes in, codes out.
void lrn_rounded(const Node& n, std::span<const Tensor* const> in, Tensor& y,
                 const kernels::OutputQuant& q) {
  const Tensor& x = *in[0];
  const int fi = q.in_frac.at(0);
  std::vector<int32_t> codes(x.data.size()), yc(y.data.size());
  for (size_t i = 0; i < codes.size(); ++i)
    codes[i] =
        static_cast<int32_t>(static_cast<int64_t>(std::ldexp(static_cast<double>(x.data[i]), fi)));
  const kernels::OutputStage st = kernels::output_stage(
      q.out, q.rounding, Attributes{}, {kernels::kLrnMultiplierBits + fi - q.out.frac});
  kernels::lrn_int_ref(x.shape[0], x.shape[1], x.shape[2] * x.shape[3], n.attrs, fi, codes.data(),
                       st, yc.data());
  for (size_t i = 0; i < yc.size(); ++i)
    y.data[i] = static_cast<float>(quant::dequantize(yc[i], q.out));
}

bool lrn_fast(kernels::FastGraphImpl& b, const Node& n) {
  using namespace kernels;
  const int x = n.inputs[0], y = n.outputs[0];
  const Attributes& a = n.attrs;
  if (a.size % 2 == 0) return false;  // oneDNN centres the window; ONNX is asymmetric then
  // Simulated LRN is the integer engine's fixed point: the exact reference path.
  if (b.fq && b.fq->value_format[static_cast<size_t>(y)] &&
      b.fq->value_format[static_cast<size_t>(x)])
    return false;
  dnnl::lrn_forward::desc d(dnnl::prop_kind::forward_inference,
                            dnnl::algorithm::lrn_across_channels, b.md[x], a.size, a.alpha, a.beta,
                            a.bias);
  b.add_src_dst_step<dnnl::lrn_forward>(x, y, {d, base_attr(), cpu_engine()});
  return true;
}

void lrn_plan(IntegerPlanner& p, const Node& n, IntegerNode& in) {
  plan_requantize_by(p, n, in, kernels::kLrnMultiplierBits);
}

void lrn_integer(IntegerStep& s) {
  const int fi = s.p.format(s.n.inputs[0]).frac;
  const int64_t c = s.xs[1], hw = s.xs[2] * s.xs[3];
  if (s.fast)
    kernels::lrn_int(s.xs[0], c, hw, s.n.attrs, fi, s.fast->lrn(s.p, s.index), s.x, s.in.stage,
                     s.y.data());
  else
    kernels::lrn_int_ref(s.xs[0], c, hw, s.n.attrs, fi, s.x, s.in.stage, s.y.data());
}

void lrn_json(const Node& n, const IntegerNode&, nlohmann::ordered_json& e) {
  const Attributes& a = n.attrs;
  e["lrn"] = {{"size", a.size},
              {"alpha", a.alpha},
              {"beta", a.beta},
              {"bias", a.bias},
              {"multiplier_bits", kernels::kLrnMultiplierBits}};
}

QdqTail lrn_qdq(QdqWriter& w, const Node& n, const std::string& y) {
  auto* p = w.node("LRN", n.name, {w.input(n.inputs[0])}, y);
  QdqWriter::attr(p, "alpha", n.attrs.alpha);
  QdqWriter::attr(p, "beta", n.attrs.beta);
  QdqWriter::attr(p, "bias", n.attrs.bias);
  QdqWriter::attr(p, "size", n.attrs.size);
  return QdqTail::Finish;
}

}  // namespace

namespace defs {

const OpDef LRN{.op = OpType::LRN,
                .import = import_lrn,
                .rank = onnx_import::image_rank,
                .reference = lrn_reference,
                .nonnegative = nonnegative_if_input,
                .rounded = lrn_rounded,
                .fast = lrn_fast,
                .integer_plan = lrn_plan,
                .integer_run = lrn_integer,
                .export_json = lrn_json,
                .qdq = lrn_qdq};

}  // namespace defs
}  // namespace gammaq::ops
