// oneDNN float kernels: convolution, inner product (Gemm), pooling and LRN.
// Activations stay NCHW (plain) between nodes; weights are reordered once into the layout
// oneDNN prefers. Fused activations become oneDNN eltwise post-ops.
#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>

#include "gammaq/error.h"
#include "kernels/fast/fast.h"
#include "kernels/kernels.h"

namespace gammaq::kernels {
namespace {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::primitive_attr activation_attr(const Attributes& a) {
  dnnl::primitive_attr attr;
  dnnl::post_ops ops;
  switch (a.activation) {
    case Activation::None: return attr;
    case Activation::Relu: ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f); break;
    case Activation::LeakyRelu:
      ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, a.act_alpha, 0.0f);
      break;
    case Activation::Clip:
      ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, a.act_min, a.act_max);
      break;
    case Activation::Sigmoid:
      ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_logistic, 0.0f, 0.0f);
      break;
  }
  attr.set_post_ops(ops);
  return attr;
}

memory::dims dims_of(const Shape& s) { return memory::dims(s.begin(), s.end()); }

// Weights are reordered from the user's plain layout into the primitive's preferred one.
memory reorder_weights(const memory::desc& want, const memory::desc& have, const float* data) {
  dnnl::stream stream(cpu_engine());
  memory src(have, cpu_engine(), const_cast<float*>(data));
  memory dst(want, cpu_engine());
  dnnl::reorder(src, dst).execute(stream, src, dst);
  stream.wait();
  return dst;
}

class DnnlConv final : public FastKernel {
 public:
  DnnlConv(const WindowGeom& g, const float* w, const float* b, const Attributes& a)
      : src_md_({g.n, g.c, g.h, g.w}, dt::f32, tag::nchw),
        dst_md_({g.n, g.m, g.oh, g.ow}, dt::f32, tag::nchw) {
    memory::dims wdims = g.group == 1
                             ? memory::dims{g.m, g.c, g.kh, g.kw}
                             : memory::dims{g.group, g.m / g.group, g.c / g.group, g.kh, g.kw};
    const memory::desc w_user(wdims, dt::f32, g.group == 1 ? tag::oihw : tag::goihw);
    const memory::desc w_any(wdims, dt::f32, tag::any);
    const memory::desc b_md({g.m}, dt::f32, tag::x);
    const dnnl::convolution_forward::desc desc(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_md_, w_any,
        b_md, dst_md_, {g.sh, g.sw}, {g.dh - 1, g.dw - 1}, {g.pt, g.pl}, {g.pb, g.pr});
    pd_ = dnnl::convolution_forward::primitive_desc(desc, activation_attr(a), cpu_engine());
    prim_ = dnnl::convolution_forward(pd_);
    weights_ = reorder_weights(pd_.weights_desc(), w_user, w);
    bias_ = memory(b_md, cpu_engine());
    float* bp = static_cast<float*>(bias_.get_data_handle());
    for (int64_t i = 0; i < g.m; ++i) bp[i] = b ? b[i] : 0.0f;
  }

  void run(std::span<const float* const> inputs, float* output) override {
    dnnl::stream stream(cpu_engine());
    memory src(src_md_, cpu_engine(), const_cast<float*>(inputs[0]));
    memory dst(dst_md_, cpu_engine(), output);
    prim_.execute(stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights_},
                           {DNNL_ARG_BIAS, bias_}, {DNNL_ARG_DST, dst}});
    stream.wait();
  }

 private:
  memory::desc src_md_, dst_md_;
  dnnl::convolution_forward::primitive_desc pd_;
  dnnl::convolution_forward prim_;
  memory weights_, bias_;
};

class DnnlGemm final : public FastKernel {
 public:
  DnnlGemm(int64_t n, int64_t k, int64_t out, const float* w, const float* b,
           const Attributes& a)
      : src_md_({n, k}, dt::f32, tag::nc), dst_md_({n, out}, dt::f32, tag::nc) {
    const memory::desc w_user({out, k}, dt::f32, tag::oi);
    const memory::desc w_any({out, k}, dt::f32, tag::any);
    const memory::desc b_md({out}, dt::f32, tag::x);
    const dnnl::inner_product_forward::desc desc(dnnl::prop_kind::forward_inference, src_md_,
                                                 w_any, b_md, dst_md_);
    pd_ = dnnl::inner_product_forward::primitive_desc(desc, activation_attr(a), cpu_engine());
    prim_ = dnnl::inner_product_forward(pd_);
    weights_ = reorder_weights(pd_.weights_desc(), w_user, w);
    bias_ = memory(b_md, cpu_engine());
    float* bp = static_cast<float*>(bias_.get_data_handle());
    for (int64_t i = 0; i < out; ++i) bp[i] = b ? b[i] : 0.0f;
  }

  void run(std::span<const float* const> inputs, float* output) override {
    dnnl::stream stream(cpu_engine());
    memory src(src_md_, cpu_engine(), const_cast<float*>(inputs[0]));
    memory dst(dst_md_, cpu_engine(), output);
    prim_.execute(stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights_},
                           {DNNL_ARG_BIAS, bias_}, {DNNL_ARG_DST, dst}});
    stream.wait();
  }

 private:
  memory::desc src_md_, dst_md_;
  dnnl::inner_product_forward::primitive_desc pd_;
  dnnl::inner_product_forward prim_;
  memory weights_, bias_;
};

// Pooling and LRN: one source, one destination, no weights.
template <typename Prim>
class DnnlUnary final : public FastKernel {
 public:
  DnnlUnary(const memory::desc& src, const memory::desc& dst, typename Prim::primitive_desc pd)
      : src_md_(src), dst_md_(dst), pd_(std::move(pd)), prim_(pd_) {}

  void run(std::span<const float* const> inputs, float* output) override {
    dnnl::stream stream(cpu_engine());
    memory src(src_md_, cpu_engine(), const_cast<float*>(inputs[0]));
    memory dst(dst_md_, cpu_engine(), output);
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}};
    if (pd_.workspace_desc().get_size() != 0) {
      if (!workspace_) workspace_ = memory(pd_.workspace_desc(), cpu_engine());
      args.insert({DNNL_ARG_WORKSPACE, workspace_});
    }
    prim_.execute(stream, args);
    stream.wait();
  }

 private:
  memory::desc src_md_, dst_md_;
  typename Prim::primitive_desc pd_;
  Prim prim_;
  memory workspace_;
};

std::unique_ptr<FastKernel> make_pool(const Node& node, const Shape& xs, const Shape& ys) {
  const Attributes& a = node.attrs;
  WindowGeom g = window_geom(a, xs, ys);
  if (g.dh != 1 || g.dw != 1) return nullptr;
  // oneDNN needs the right/bottom padding that yields ONNX's (possibly ceil_mode) output size.
  const int64_t pb = (g.oh - 1) * g.sh + g.kh - g.h - g.pt;
  const int64_t pr = (g.ow - 1) * g.sw + g.kw - g.w - g.pl;
  const bool overhang = pb > g.pb || pr > g.pr;
  dnnl::algorithm alg = dnnl::algorithm::pooling_max;
  if (node.op == OpType::AveragePool) {
    if (a.count_include_pad && overhang) return nullptr;  // ORT excludes the overhang
    alg = a.count_include_pad ? dnnl::algorithm::pooling_avg_include_padding
                              : dnnl::algorithm::pooling_avg_exclude_padding;
  }
  if (pb < 0 || pr < 0 || g.pt >= g.kh || g.pl >= g.kw) return nullptr;
  const memory::desc src(dims_of(xs), dt::f32, tag::nchw);
  const memory::desc dst(dims_of(ys), dt::f32, tag::nchw);
  const dnnl::pooling_forward::desc desc(dnnl::prop_kind::forward_inference, alg, src, dst,
                                         {g.sh, g.sw}, {g.kh, g.kw}, {g.pt, g.pl}, {pb, pr});
  return std::make_unique<DnnlUnary<dnnl::pooling_forward>>(
      src, dst, dnnl::pooling_forward::primitive_desc(desc, cpu_engine()));
}

std::unique_ptr<FastKernel> make_lrn(const Node& node, const Shape& xs) {
  const Attributes& a = node.attrs;
  if (a.size % 2 == 0) return nullptr;  // oneDNN centres the window; ONNX is asymmetric here
  const memory::desc src(dims_of(xs), dt::f32, tag::nchw);
  const dnnl::lrn_forward::desc desc(dnnl::prop_kind::forward_inference,
                                     dnnl::algorithm::lrn_across_channels, src, a.size, a.alpha,
                                     a.beta, a.bias);
  return std::make_unique<DnnlUnary<dnnl::lrn_forward>>(
      src, src, dnnl::lrn_forward::primitive_desc(desc, cpu_engine()));
}

Shape batched(Shape s, int64_t batch) {
  s[0] = batch;
  return s;
}

}  // namespace

std::unique_ptr<FastKernel> make_fast_kernel(const Graph& g, const Node& node, int64_t batch) {
  const Shape xs = batched(g.values[node.inputs[0]].shape, batch);
  const Shape ys = batched(g.values[node.outputs[0]].shape, batch);
  auto cptr = [&](size_t k) -> const float* {
    return k < node.inputs.size() ? g.values[node.inputs[k]].data.data.data() : nullptr;
  };
  switch (node.op) {
    case OpType::Conv:
      return std::make_unique<DnnlConv>(window_geom(node.attrs, xs, ys), cptr(1), cptr(2),
                                        node.attrs);
    case OpType::Gemm:
      return std::make_unique<DnnlGemm>(xs[0], xs[1], ys[1], cptr(1), cptr(2), node.attrs);
    case OpType::MaxPool:
    case OpType::AveragePool:
      return make_pool(node, xs, ys);
    case OpType::LRN:
      return make_lrn(node, xs);
    default:
      return nullptr;
  }
}

void set_kernel_threads(int threads) { omp_set_num_threads(threads); }
int kernel_threads() { return omp_get_max_threads(); }

}  // namespace gammaq::kernels
