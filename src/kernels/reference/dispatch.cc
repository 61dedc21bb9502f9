// One node through the reference kernels: the executor's reference path and the fast
// path's fallback for operators oneDNN does not cover.
#include "gammaq/error.h"
#include "kernels/kernels.h"

namespace gammaq::kernels {

void run_node_reference(const Node& node, std::span<const Tensor* const> in, Tensor& y) {
  // Inputs beyond the first are read from `in` too, so callers may substitute constants
  // (the fixed-point simulation passes quantized weights and biases).
  auto const_ptr = [&](size_t k) -> const float* {
    return k < in.size() ? in[k]->data.data() : nullptr;
  };
  const Attributes& a = node.attrs;
  const Tensor& x = *in[0];
  switch (node.op) {
    case OpType::Conv:
      conv2d_f32_ref(window_geom(a, x.shape, y.shape), x.data.data(), const_ptr(1), const_ptr(2),
                     y.data.data(), a);
      break;
    case OpType::Gemm:
      gemm_f32_ref(x.shape[0], x.numel() / x.shape[0], y.shape[1], x.data.data(), const_ptr(1),
                   const_ptr(2), y.data.data(), a);
      break;
    case OpType::MaxPool:
      maxpool2d_f32_ref(window_geom(a, x.shape, y.shape), x.data.data(), y.data.data());
      break;
    case OpType::AveragePool:
      avgpool2d_f32_ref(window_geom(a, x.shape, y.shape), a.count_include_pad, x.data.data(),
                        y.data.data());
      break;
    case OpType::GlobalAveragePool:
      global_avgpool_f32_ref(x.shape[0], x.shape[1], x.shape[2] * x.shape[3], x.data.data(),
                             y.data.data());
      break;
    case OpType::LRN:
      lrn_f32_ref(x.shape[0], x.shape[1], x.shape[2] * x.shape[3], a, x.data.data(), y.data.data());
      break;
    case OpType::Relu:
    case OpType::Clip:
    case OpType::LeakyRelu:
    case OpType::Sigmoid: unary_f32_ref(node.op, a, x.data, y.data); break;
    case OpType::Add:
    case OpType::Mul: {
      const Tensor& x1 = *in[1];
      binary_f32_ref(node.op, a, x.shape, x.data.data(), x1.shape, x1.data.data(), y.shape,
                     y.data.data());
      break;
    }
    case OpType::BatchNormalization: {
      const int64_t inner = x.numel() / (x.shape[0] * x.shape[1]);
      batchnorm_f32_ref(x.shape[0], x.shape[1], inner, const_ptr(1), const_ptr(2), const_ptr(3),
                        const_ptr(4), a.epsilon, x.data.data(), y.data.data());
      break;
    }
    case OpType::Softmax:
      softmax_f32_ref(x.shape[0], x.shape[1], x.data.data(), y.data.data());
      break;
    case OpType::Pad:
      pad_f32_ref(x.shape, a.pads, a.pad_value, x.data.data(), y.shape, y.data.data());
      break;
    case OpType::Concat: {
      std::vector<Shape> shapes;
      std::vector<const float*> ptrs;
      for (const Tensor* t : in) {
        shapes.push_back(t->shape);
        ptrs.push_back(t->data.data());
      }
      concat_f32_ref(a.axis, shapes, ptrs, y.shape, y.data.data());
      break;
    }
    case OpType::Flatten:
    case OpType::Reshape:
    case OpType::Identity:
    case OpType::Dropout:
      std::copy(x.data.begin(), x.data.end(), y.data.begin());  // same elements, new shape
      break;
    case OpType::MatMul:
    case OpType::Constant: GAMMAQ_CHECK(false, "op ", op_name(node.op), " survives import");
  }
}

}  // namespace gammaq::kernels
