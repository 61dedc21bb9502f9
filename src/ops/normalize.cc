// BatchNormalization (inference) and Softmax. BatchNormalization after a Conv folds into it
// (ir/passes.h fold_batchnorm); what remains runs as a per-channel affine map in float (oneDNN's
// batch normalization on the fast path).
#include <algorithm>
#include <array>

#include "export/qdq_writer.h"
#include "kernels/fast/fast_builder.h"
#include "onnx/import_rules.h"
#include "ops/common.h"

namespace gammaq::ops {
namespace {

using onnx_import::NodeIo;

Imported import_batchnorm(NodeIo& io, Node& node) {
  node.inputs = {io.activation(0)};
  const char* roles[] = {"scale", "B", "mean", "var"};
  const Shape& x = io.shape_of(node.inputs[0]);
  const int64_t c = x.size() > 1 ? x[1] : 0;
  for (int k = 1; k <= 4; ++k) {
    node.inputs.push_back(io.weight(k, roles[k - 1]));
    if (io.shape_of(node.inputs.back()) != Shape{c})
      io.invalid(str_cat(roles[k - 1], " has shape ", shape_str(io.shape_of(node.inputs.back())),
                         ", expected [", c, "]"));
  }
  node.attrs.epsilon = io.a.f("epsilon", 1e-5f);
  if (io.a.i("training_mode", 0) != 0) io.a.unsupported("training_mode=1 is not supported");
  for (float v : io.ctx.g.values[node.inputs[4]].data.data)
    if (v < 0) io.invalid("negative variance");
  io.single_output();
  return Imported::Node;
}

void batchnorm_reference(const Node& n, std::span<const Tensor* const> in, Tensor& y) {
  const Tensor& x = *in[0];
  const int64_t inner = x.numel() / (x.shape[0] * x.shape[1]);
  kernels::batchnorm_f32_ref(x.shape[0], x.shape[1], inner, input_data(in, 1), input_data(in, 2),
                             input_data(in, 3), input_data(in, 4), n.attrs.epsilon, x.data.data(),
                             y.data.data());
  if (n.attrs.activation != Activation::None)
    for (float& v : y.data) v = kernels::activate(v, n.attrs);
}

// oneDNN's batch normalization with the model's statistics (use_global_stats) and scale and
// shift, in whatever layout the input has (DenseNet's pre-activation BN after each Concat).
bool batchnorm_fast(kernels::FastGraphImpl& b, const Node& n) {
  using namespace kernels;
  const int x = n.inputs[0], y = n.outputs[0];
  const Shape xs = b.batch_shape(x);
  if (xs.size() != 4) return false;
  const int64_t c = xs[1];
  // A fused ReLU is oneDNN's fuse_norm_relu; other fused activations take the reference kernel.
  const bool relu = n.attrs.activation == Activation::Relu;
  if (n.attrs.activation != Activation::None && !relu) return false;
  std::vector<float> scale_shift(static_cast<size_t>(2 * c));
  std::copy_n(b.constant_data(n.inputs[1]), c, scale_shift.begin());
  std::copy_n(b.constant_data(n.inputs[2]), c, scale_shift.begin() + c);
  auto flags =
      dnnl::normalization_flags::use_global_stats | dnnl::normalization_flags::use_scale_shift;
  if (relu) flags |= dnnl::normalization_flags::fuse_norm_relu;
  dnnl::batch_normalization_forward::desc d(dnnl::prop_kind::forward_inference, b.md[x],
                                            n.attrs.epsilon, flags);
  dnnl::batch_normalization_forward::primitive_desc pd(d, base_attr(), cpu_engine());
  const memory::desc c_md({c}, dt::f32, tag::x);
  const memory mean = b.constant_memory(pd.mean_desc(), c_md, b.constant_data(n.inputs[3]));
  const memory var = b.constant_memory(pd.variance_desc(), c_md, b.constant_data(n.inputs[4]));
  const memory ss = b.constant_memory(pd.weights_desc(), memory::desc({2, c}, dt::f32, tag::nc),
                                      scale_shift.data());
  b.set_layout(y, pd.dst_desc());
  b.add_step(dnnl::batch_normalization_forward(pd),
             {{DNNL_ARG_SRC, b.mem[x]},
              {DNNL_ARG_MEAN, mean},
              {DNNL_ARG_VARIANCE, var},
              {DNNL_ARG_SCALE_SHIFT, ss},
              {DNNL_ARG_DST, b.mem[y]}},
             pd.scratchpad_desc());
  b.impl.push_back(impl_of(pd));
  return true;
}

QdqTail batchnorm_qdq(QdqWriter& w, const Node& n, const std::string& y) {
  std::vector<std::string> ins;
  for (int v : n.inputs) ins.push_back(w.input(v));
  QdqWriter::attr(w.node("BatchNormalization", n.name, ins, y), "epsilon", n.attrs.epsilon);
  return QdqTail::Finish;
}

Imported import_softmax(NodeIo& io, Node& node) {
  node.inputs = {io.activation(0)};
  const int64_t rank = static_cast<int64_t>(io.shape_of(node.inputs[0]).size());
  int64_t& axis = node.attrs.axis;
  axis = io.a.i("axis", io.ctx.g.opset >= 13 ? -1 : 1);
  if (axis < -rank || axis >= rank) io.a.fail("axis", "is out of range");
  if (axis < 0) axis += rank;
  if (axis == 0) io.a.unsupported("axis 0 is the batch");
  // Before opset 13 Softmax flattened [axis:] into one axis; the same when nothing follows.
  node.attrs.flatten_tail = io.ctx.g.opset < 13 && axis + 1 < rank;
  return Imported::Node;
}

// [outer, cols, inner] of the node's softmax on x.
std::array<int64_t, 3> softmax_dims(const Node& n, const Shape& x) {
  std::array<int64_t, 3> d{1, 1, 1};
  for (size_t k = 0; k < x.size(); ++k) {
    const auto ks = static_cast<int64_t>(k);
    d[ks < n.attrs.axis ? 0 : ks == n.attrs.axis || n.attrs.flatten_tail ? 1 : 2] *= x[k];
  }
  return d;
}

void softmax_reference(const Node& n, std::span<const Tensor* const> in, Tensor& y) {
  const Tensor& x = *in[0];
  const auto [outer, cols, inner] = softmax_dims(n, x.shape);
  kernels::softmax_axis_f32_ref(outer, cols, inner, x.data.data(), y.data.data());
}

// oneDNN softmax on the plain input viewed as [outer, cols, inner].
bool softmax_fast(kernels::FastGraphImpl& b, const Node& n) {
  using namespace kernels;
  const int x = n.inputs[0], y = n.outputs[0];
  const auto [outer, cols, inner] = softmax_dims(n, b.batch_shape(x));
  const memory src = b.as_layout(x, plain_md(b.batch_shape(x)));
  const memory::desc view({outer, cols, inner}, dt::f32, tag::abc);
  b.set_plain_layout(y);
  dnnl::softmax_forward::desc d(dnnl::prop_kind::forward_inference, view, 1);
  dnnl::softmax_forward::primitive_desc pd(d, base_attr(), cpu_engine());
  memory in(view, cpu_engine(), src.get_data_handle());
  memory out(view, cpu_engine(), b.mem[y].get_data_handle());
  b.keep.push_back(in);
  b.keep.push_back(out);
  b.add_step(dnnl::softmax_forward(pd), {{DNNL_ARG_SRC, in}, {DNNL_ARG_DST, out}},
             pd.scratchpad_desc());
  b.impl.push_back(impl_of(pd));
  return true;
}

// Softmax over one axis as ONNX 13 means it; the flattened tail of opsets before 13 as
// Flatten(axis), Softmax over axis 1, Reshape back (the batch left free).
QdqTail softmax_qdq(QdqWriter& w, const Node& n, const std::string& y) {
  const Shape& xs = w.g_.values[static_cast<size_t>(n.inputs[0])].shape;
  if (!n.attrs.flatten_tail || n.attrs.axis == static_cast<int64_t>(xs.size()) - 1)
    return axis_qdq(w, n, y);
  const std::string flat = y + "/flat", soft = y + "/softmax";
  QdqWriter::attr(w.node("Flatten", n.name + "/Flatten", {w.input(n.inputs[0])}, flat), "axis",
                  n.attrs.axis);
  QdqWriter::attr(w.node("Softmax", n.name, {flat}, soft), "axis", int64_t{1});
  std::vector<int64_t> shape(xs.begin(), xs.end());
  shape[0] = -1;
  w.node("Reshape", n.name + "/Reshape", {soft, w.int64s(y + "/shape", shape)}, y);
  return QdqTail::Finish;
}

}  // namespace

namespace defs {

const OpDef BatchNormalization{.op = OpType::BatchNormalization,
                               .import = import_batchnorm,
                               .reference = batchnorm_reference,
                               .fast = batchnorm_fast,
                               .no_integer = "BatchNormalization not folded into a Conv",
                               .qdq = batchnorm_qdq,
                               .takes_activation = true};

const OpDef Softmax{.op = OpType::Softmax,
                    .import = import_softmax,
                    .reference = softmax_reference,
                    .nonnegative = nonnegative_always,
                    .fast = softmax_fast,
                    .no_integer = "Softmax (classify on the logits before it)",
                    .qdq = softmax_qdq};

}  // namespace defs
}  // namespace gammaq::ops
