#include "gammaq/executor.h"

#include <cstdlib>
#include <string_view>

#include "gammaq/error.h"
#include "kernels/fast/fast.h"
#include "kernels/kernels.h"

namespace gammaq {

using kernels::FastKernel;

KernelImpl kernel_impl_from_env(KernelImpl fallback) {
  const char* env = std::getenv("GAMMAQ_KERNELS");
  if (env == nullptr || *env == '\0') return fallback;
  const std::string_view v(env);
  if (v == "reference") return KernelImpl::Reference;
  if (v == "fast") return KernelImpl::Fast;
  throw Error(ErrorKind::InvalidOption,
              str_cat("GAMMAQ_KERNELS='", v, "': expected 'reference' or 'fast'"));
}

struct Executor::FastState {
  std::vector<std::unique_ptr<FastKernel>> kernels;  // per node, null: reference
};

Executor::Executor(const Graph& graph, ExecutorOptions options)
    : g_(graph), options_(options), acts_(graph.values.size()) {
  if (options_.threads > 0) kernels::set_kernel_threads(options_.threads);
}

Executor::~Executor() = default;

void Executor::prepare(int64_t batch) {
  if (batch == batch_) return;
  batch_ = batch;
  for (size_t i = 0; i < g_.values.size(); ++i) {
    const Value& v = g_.values[i];
    if (v.is_constant) continue;
    Shape s = v.shape;
    s[0] = batch;
    acts_[i] = Tensor(std::move(s));
  }
  fast_.reset();
  if (options_.impl == KernelImpl::Fast) {
    fast_ = std::make_unique<FastState>();
    for (const Node& n : g_.nodes) fast_->kernels.push_back(kernels::make_fast_kernel(g_, n, batch));
  }
}

const Tensor& Executor::run(const Tensor& images) {
  const Shape& want = g_.values[g_.input].shape;
  if (images.rank() != 4 || images.shape[0] < 1 ||
      !std::equal(want.begin() + 1, want.end(), images.shape.begin() + 1))
    throw Error(ErrorKind::InvalidData,
                str_cat("images of shape ", shape_str(Shape(images.shape.begin() + 1,
                                                            images.shape.end())),
                        " do not match model input '", g_.values[g_.input].name, "' of shape ",
                        shape_str(Shape(want.begin() + 1, want.end()))));
  prepare(images.shape[0]);
  acts_[g_.input].data = images.data;
  if (tap_) tap_(g_.input, acts_[g_.input]);
  for (size_t i = 0; i < g_.nodes.size(); ++i) {
    run_node(i);
    if (tap_) tap_(g_.nodes[i].outputs[0], acts_[g_.nodes[i].outputs[0]]);
  }
  return acts_[g_.output];
}

void Executor::run_node(size_t index) {
  const Node& node = g_.nodes[index];
  Tensor& y = acts_[node.outputs[0]];
  auto in = [&](size_t k) -> const Tensor& {
    const int id = node.inputs[k];
    return g_.values[id].is_constant ? g_.values[id].data : acts_[id];
  };
  auto const_ptr = [&](size_t k) -> const float* {
    return k < node.inputs.size() ? g_.values[node.inputs[k]].data.data.data() : nullptr;
  };
  if (fast_ && fast_->kernels[index]) {
    std::vector<const float*> ptrs;
    for (int id : node.inputs)
      if (!g_.values[id].is_constant) ptrs.push_back(acts_[id].data.data());
    fast_->kernels[index]->run(ptrs, y.data.data());
    return;
  }
  const Attributes& a = node.attrs;
  const Tensor& x = in(0);
  switch (node.op) {
    case OpType::Conv:
      kernels::conv2d_f32_ref(kernels::window_geom(a, x.shape, y.shape), x.data.data(),
                              const_ptr(1), const_ptr(2), y.data.data(), a);
      break;
    case OpType::Gemm:
      kernels::gemm_f32_ref(x.shape[0], x.shape[1], y.shape[1], x.data.data(), const_ptr(1),
                            const_ptr(2), y.data.data(), a);
      break;
    case OpType::MaxPool:
      kernels::maxpool2d_f32_ref(kernels::window_geom(a, x.shape, y.shape), x.data.data(),
                                 y.data.data());
      break;
    case OpType::AveragePool:
      kernels::avgpool2d_f32_ref(kernels::window_geom(a, x.shape, y.shape), a.count_include_pad,
                                 x.data.data(), y.data.data());
      break;
    case OpType::GlobalAveragePool:
      kernels::global_avgpool_f32_ref(x.shape[0], x.shape[1], x.shape[2] * x.shape[3],
                                      x.data.data(), y.data.data());
      break;
    case OpType::LRN:
      kernels::lrn_f32_ref(x.shape[0], x.shape[1], x.shape[2] * x.shape[3], a, x.data.data(),
                           y.data.data());
      break;
    case OpType::Relu:
    case OpType::Clip:
    case OpType::LeakyRelu:
    case OpType::Sigmoid:
      kernels::unary_f32_ref(node.op, a, x.data, y.data);
      break;
    case OpType::Add:
    case OpType::Mul: {
      const Tensor& x1 = in(1);
      kernels::binary_f32_ref(node.op, a, x.shape, x.data.data(), x1.shape, x1.data.data(),
                              y.shape, y.data.data());
      break;
    }
    case OpType::BatchNormalization: {
      const int64_t inner = x.numel() / (x.shape[0] * x.shape[1]);
      kernels::batchnorm_f32_ref(x.shape[0], x.shape[1], inner, const_ptr(1), const_ptr(2),
                                 const_ptr(3), const_ptr(4), a.epsilon, x.data.data(),
                                 y.data.data());
      break;
    }
    case OpType::Softmax:
      kernels::softmax_f32_ref(x.shape[0], x.shape[1], x.data.data(), y.data.data());
      break;
    case OpType::Pad:
      kernels::pad_f32_ref(x.shape, a.pads, a.pad_value, x.data.data(), y.shape, y.data.data());
      break;
    case OpType::Concat: {
      std::vector<Shape> shapes;
      std::vector<const float*> ptrs;
      for (size_t k = 0; k < node.inputs.size(); ++k) {
        shapes.push_back(in(k).shape);
        ptrs.push_back(in(k).data.data());
      }
      kernels::concat_f32_ref(a.axis, shapes, ptrs, y.shape, y.data.data());
      break;
    }
    case OpType::Flatten:
    case OpType::Reshape:
    case OpType::Identity:
    case OpType::Dropout:
      y.data = x.data;  // same elements, new shape
      break;
    case OpType::MatMul:
    case OpType::Constant:
      GAMMAQ_CHECK(false, "op ", op_name(node.op), " survives import");
  }
}

}  // namespace gammaq
