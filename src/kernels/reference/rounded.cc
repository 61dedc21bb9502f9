// The exact fixed-point simulation of one node (kernels.h run_node_rounded).
#include <cmath>

#include "kernels/integer/integer.h"
#include "kernels/kernels.h"
#include "kernels/reference/loops.h"

namespace gammaq::kernels {
namespace {

double activate_exact(double v, const Attributes& a) noexcept {
  switch (a.activation) {
    case Activation::Relu: return v > 0.0 ? v : 0.0;
    case Activation::Clip:
      return v < a.act_min ? a.act_min : (v > a.act_max ? static_cast<double>(a.act_max) : v);
    default: return v;  // LeakyRelu/Sigmoid: not exact (the integer engine refuses them)
  }
}

// x on the grid 2^-frac as an integer code (exact).
int64_t code_of(float x, int frac) noexcept {
  return static_cast<int64_t>(std::ldexp(static_cast<double>(x), frac));
}

}  // namespace

void run_node_rounded(const Node& node, std::span<const Tensor* const> in, Tensor& y,
                      const OutputQuant& q) {
  const Attributes& a = node.attrs;
  const Tensor& x = *in[0];
  float* out = y.data.data();
  auto round_out = [&q](double v) {
    return static_cast<float>(quant::fake_quant(v, q.out, q.rounding));
  };
  auto ptr = [&](size_t k) -> const float* { return k < in.size() ? in[k]->data.data() : nullptr; };
  switch (node.op) {
    case OpType::Conv: {
      const float* b = ptr(2);
      conv2d_loop<double>(
          window_geom(a, x.shape, y.shape), x.data.data(), ptr(1),
          [b](int64_t m) { return b ? static_cast<double>(b[m]) : 0.0; },
          [&](int64_t i, int64_t, double acc) { out[i] = round_out(activate_exact(acc, a)); });
      return;
    }
    case OpType::Gemm: {
      const float* b = ptr(2);
      gemm_loop<double>(
          x.shape[0], x.numel() / x.shape[0], y.shape[1], x.data.data(), ptr(1),
          [b](int64_t o) { return b ? static_cast<double>(b[o]) : 0.0; },
          [&](int64_t i, int64_t, double acc) { out[i] = round_out(activate_exact(acc, a)); });
      return;
    }
    case OpType::AveragePool:
    case OpType::GlobalAveragePool: {
      const int fi = q.in_frac.at(0);
      auto store = [&](int64_t i, double sum, int64_t count) {
        const int64_t c = count ? quant::requantize_ratio(static_cast<int64_t>(std::ldexp(sum, fi)),
                                                          count, fi - q.out.frac, q.out, q.rounding)
                                : 0;
        out[i] = static_cast<float>(quant::dequantize(c, q.out));
      };
      if (node.op == OpType::AveragePool)
        avgpool2d_loop<double>(window_geom(a, x.shape, y.shape), a.count_include_pad, x.data.data(),
                               store);
      else
        global_avgpool_loop<double>(x.shape[0], x.shape[1], x.shape[2] * x.shape[3], x.data.data(),
                                    store);
      return;
    }
    case OpType::LRN: {  // through the integer kernel itself
      const int fi = q.in_frac.at(0);
      std::vector<int32_t> codes(x.data.size()), yc(y.data.size());
      for (size_t i = 0; i < codes.size(); ++i)
        codes[i] = static_cast<int32_t>(code_of(x.data[i], fi));
      const OutputStage st =
          output_stage(q.out, q.rounding, Attributes{}, {kLrnMultiplierBits + fi - q.out.frac});
      lrn_int_ref(x.shape[0], x.shape[1], x.shape[2] * x.shape[3], a, fi, codes.data(), st,
                  yc.data());
      for (size_t i = 0; i < yc.size(); ++i)
        out[i] = static_cast<float>(quant::dequantize(yc[i], q.out));
      return;
    }
    case OpType::Add:
    case OpType::Mul: {
      const float* x1 = in[1]->data.data();
      if (in[1]->shape != x.shape) break;  // broadcasting: float below, rounded after
      // In double (float may round a sum of two fine grids), then rounded once.
      for (size_t i = 0; i < y.data.size(); ++i) {
        const double v = node.op == OpType::Add
                             ? static_cast<double>(x.data[i]) + static_cast<double>(x1[i])
                             : static_cast<double>(x.data[i]) * static_cast<double>(x1[i]);
        out[i] = round_out(activate_exact(v, a));
      }
      return;
    }
    default: break;
  }
  run_node_reference(node, in, y);  // exact in float: the caller rounds
  if (node.op == OpType::Add || node.op == OpType::Mul)
    quant::fake_quant(y.data, q.out, q.rounding);  // broadcasting
}

bool rounds_in_kernel(OpType op) noexcept {
  switch (op) {
    case OpType::Conv:
    case OpType::Gemm:
    case OpType::AveragePool:
    case OpType::GlobalAveragePool:
    case OpType::LRN:
    case OpType::Add:
    case OpType::Mul: return true;
    default: return false;
  }
}

std::optional<OutputQuant> output_quant(const Graph& g, const FakeQuant& fq, const Node& n) {
  const auto& out = fq.value_format[static_cast<size_t>(n.outputs[0])];
  if (!out) return std::nullopt;
  OutputQuant q;
  q.out = *out;
  q.rounding = fq.rounding;
  for (int v : n.inputs) {
    if (g.values[static_cast<size_t>(v)].is_constant) continue;
    const auto& f = fq.value_format[static_cast<size_t>(v)];
    if (!f) return std::nullopt;
    q.in_frac.push_back(f->frac);
  }
  return q;
}

}  // namespace gammaq::kernels
