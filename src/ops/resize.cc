// Resize (opsets 10-21) and Upsample (opsets 7-9) of H and W: nearest and linear, with the
// coordinate transforms exporters write (half_pixel, pytorch_half_pixel, align_corners,
// asymmetric, tf_half_pixel_for_nearest). Upsample imports as Resize. Nearest moves values;
// linear rounds once, after it (the simulation's default).
#include <cmath>

#include "export/qdq_writer.h"
#include "kernels/fast/fast_builder.h"
#include "onnx/import_rules.h"
#include "ops/common.h"

namespace gammaq::ops {
namespace {

using onnx_import::NodeIo;

// A constant float input (scales) or integer input (sizes) as floats; empty when absent or
// given as an empty tensor (opset 11 writes an empty scales beside sizes).
std::vector<float> constant_input(const NodeIo& io, int k, const char* what) {
  if (!io.has_input(k)) return {};
  const Value& v = io.value(k);
  if (!v.is_constant)
    io.a.unsupported(str_cat(what, " computed at run time (it must fold to a constant)"));
  return v.data.data;
}

int parse_mode(const NodeIo& io, const std::string& mode) {
  if (mode == "nearest") return kResizeNearest;
  if (mode == "linear" || mode == "bilinear") return kResizeLinear;
  io.a.unsupported(str_cat("mode '", mode, "'; gammaq reads 'nearest' and 'linear'"));
}

int parse_coord(const NodeIo& io, const std::string& c) {
  if (c == "half_pixel") return kCoordHalfPixel;
  if (c == "pytorch_half_pixel") return kCoordPytorchHalfPixel;
  if (c == "align_corners") return kCoordAlignCorners;
  if (c == "asymmetric") return kCoordAsymmetric;
  if (c == "tf_half_pixel_for_nearest") return kCoordTfHalfPixelForNearest;
  io.a.unsupported(str_cat("coordinate_transformation_mode '", c,
                           "'; gammaq reads half_pixel, pytorch_half_pixel, align_corners, "
                           "asymmetric and tf_half_pixel_for_nearest"));
}

int parse_nearest(const NodeIo& io, const std::string& m) {
  if (m == "round_prefer_floor") return kNearestRoundPreferFloor;
  if (m == "round_prefer_ceil") return kNearestRoundPreferCeil;
  if (m == "floor") return kNearestFloor;
  if (m == "ceil") return kNearestCeil;
  io.a.unsupported(str_cat("nearest_mode '", m, "'"));
}

Imported import_resize(NodeIo& io, Node& node) {
  Attributes& a = node.attrs;
  const bool upsample = io.op == OpType::Upsample;
  node.op = OpType::Resize;
  node.inputs = {io.activation(0)};
  io.single_output();
  const int64_t opset = io.ctx.g.opset;
  const bool v11 = !upsample && opset >= 11;
  a.resize_mode = parse_mode(io, io.a.s("mode", "nearest"));
  a.coord_mode = v11 ? parse_coord(io, io.a.s("coordinate_transformation_mode", "half_pixel"))
                     : kCoordAsymmetric;
  if (a.coord_mode == kCoordTfHalfPixelForNearest && opset >= 13)
    io.invalid("coordinate_transformation_mode 'tf_half_pixel_for_nearest' left ONNX at opset 13");
  if (v11 && a.resize_mode == kResizeNearest)
    a.nearest_mode = parse_nearest(io, io.a.s("nearest_mode", "round_prefer_floor"));
  std::vector<float> scales, sizes;
  if (upsample && opset < 9) {
    const auto* s = io.a.find("scales");
    if (!s || s->type() != onnx::AttributeProto::FLOATS) io.a.fail("scales", "must be floats");
    scales.assign(s->floats().begin(), s->floats().end());
  } else {
    scales = constant_input(io, v11 ? 2 : 1, "scales");
    if (v11) sizes = constant_input(io, 3, "sizes");
  }
  const Shape& x = io.shape_of(node.inputs[0]);
  const Shape y = io.inferred(0);
  if (!sizes.empty() ? sizes.size() != 4 : scales.size() != 4)
    io.invalid(str_cat(sizes.empty() ? "scales" : "sizes", " must hold 4 values (N, C, H, W)"));
  if (y.size() != 4 || y[0] != x[0] || y[1] != x[1])
    io.a.unsupported("resizing the batch or the channels (only H and W)");
  a.scales.assign(2, 1.0f);
  for (int k = 0; k < 2; ++k) {
    const auto d = static_cast<size_t>(k + 2);
    float s = static_cast<float>(y[d]) / static_cast<float>(x[d]);
    if (sizes.empty()) {
      s = scales[d];
      if (!(std::isfinite(s) && s > 0.0f)) io.invalid("scales must be finite and positive");
      if (upsample && s < 1.0f) io.invalid("Upsample scales must be at least 1");
    }
    a.scales[static_cast<size_t>(k)] = s;
  }
  if (sizes.empty() && (scales[0] != 1.0f || scales[1] != 1.0f))
    io.a.unsupported("resizing the batch or the channels (only H and W)");
  // Before opset 11, ONNX Runtime floors the nearest coordinate when enlarging an axis and
  // ceils it when shrinking one.
  if (!v11 && a.resize_mode == kResizeNearest) {
    const bool down_h = a.scales[0] < 1.0f, down_w = a.scales[1] < 1.0f;
    if (down_h != down_w) io.a.unsupported("nearest enlarging one axis and shrinking the other");
    a.nearest_mode = down_h ? kNearestCeil : kNearestFloor;
  }
  return Imported::Node;
}

void resize_reference(const Node& n, std::span<const Tensor* const> in, Tensor& y) {
  kernels::resize_f32_ref(n.attrs, in[0]->shape, y.shape, in[0]->data.data(), y.data.data());
}

// oneDNN's resampling: nearest reads round((o + 0.5) / F - 0.5) and linear is half-pixel, with
// F = out / in. Used where that is the node's own mapping: nearest by an integer factor (every
// rounding mode of half_pixel and asymmetric then reads o / F), linear by half-pixel at the
// model's own F; the rest runs the reference kernel.
bool resize_fast(kernels::FastGraphImpl& b, const Node& n) {
  using namespace kernels;
  const Attributes& a = n.attrs;
  const int x = n.inputs[0], y = n.outputs[0];
  const Shape xs = b.batch_shape(x), ys = b.batch_shape(y);
  dnnl::algorithm alg = dnnl::algorithm::resampling_nearest;
  for (int k = 0; k < 2; ++k) {
    const int64_t in = xs[static_cast<size_t>(k + 2)], out = ys[static_cast<size_t>(k + 2)];
    const float f = static_cast<float>(out) / static_cast<float>(in);
    if (a.resize_mode == kResizeNearest) {
      if (out % in != 0) return false;
      const ResizeAxis r = resize_axis(a, k, in, out);
      for (int64_t o = 0; o < out; ++o)
        if (r.i0[static_cast<size_t>(o)] != o / (out / in)) return false;
    } else {
      alg = dnnl::algorithm::resampling_linear;
      const bool half =
          a.coord_mode == kCoordHalfPixel || (a.coord_mode == kCoordPytorchHalfPixel && out > 1);
      if (!half || a.scales[static_cast<size_t>(k)] != f) return false;
    }
  }
  dnnl::resampling_forward::desc d(dnnl::prop_kind::forward_inference, alg, b.md[x],
                                   memory::desc(dims_of(ys), dt::f32, tag::any));
  b.add_src_dst_step<dnnl::resampling_forward>(
      x, y, dnnl::resampling_forward::primitive_desc(d, base_attr(), cpu_engine()));
  return true;
}

// ONNX Resize (opset 13) by scales of N, C, H, W: the node's own scales, nudged up by an ulp
// where float would floor in * scale below the recorded output size.
QdqTail resize_qdq(QdqWriter& w, const Node& n, const std::string& y) {
  const Attributes& a = n.attrs;
  const Shape& xs = w.g_.values[static_cast<size_t>(n.inputs[0])].shape;
  const Shape& ys = w.g_.values[static_cast<size_t>(n.outputs[0])].shape;
  std::vector<float> scales = {1.0f, 1.0f, a.scales[0], a.scales[1]};
  for (size_t d = 2; d < 4; ++d)
    while (static_cast<int64_t>(std::floor(static_cast<float>(xs[d]) * scales[d])) < ys[d])
      scales[d] = std::nextafter(scales[d], INFINITY);
  static const char* kCoord[] = {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                                 "tf_half_pixel_for_nearest"};
  static const char* kNearest[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
  const std::string& dst = w.name_of_[static_cast<size_t>(n.outputs[0])];
  auto* r = w.node("Resize", n.name,
                   {w.input(n.inputs[0]), "", w.floats(dst + "/scales", {4}, scales)}, y);
  QdqWriter::attr(r, "mode", std::string(a.resize_mode == kResizeNearest ? "nearest" : "linear"));
  QdqWriter::attr(r, "coordinate_transformation_mode", std::string(kCoord[a.coord_mode]));
  if (a.resize_mode == kResizeNearest)
    QdqWriter::attr(r, "nearest_mode", std::string(kNearest[a.nearest_mode]));
  return QdqTail::Finish;
}

}  // namespace

namespace defs {

const OpDef Resize{.op = OpType::Resize,
                   .import = import_resize,
                   .rank = onnx_import::image_rank,
                   .reference = resize_reference,
                   .nonnegative = nonnegative_if_input,
                   .fast = resize_fast,
                   .no_integer = "no integer form yet",
                   .qdq = resize_qdq};

const OpDef Upsample{
    .op = OpType::Upsample, .import = import_resize, .rank = onnx_import::image_rank};

}  // namespace defs
}  // namespace gammaq::ops
