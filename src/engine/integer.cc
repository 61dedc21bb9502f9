#include "engine/integer.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "gammaq/error.h"

namespace gammaq {
namespace {

[[noreturn]] void unsupported(const Node& n, const std::string& why) {
  throw Error(ErrorKind::UnsupportedOp,
              str_cat("node '", n.name, "' (", op_name(n.op), "): no integer form: ", why));
}

// Bit length of v > 0.
int bit_length(uint64_t v) {
  int b = 0;
  while (v) {
    ++b;
    v >>= 1;
  }
  return b;
}

}  // namespace

IntegerProgram::IntegerProgram(const Graph& g, const quant::QuantPlan& plan)
    : g_(g), rounding_(plan.rounding) {
  if (plan.float_activations)
    throw Error(ErrorKind::InvalidData,
                "the integer engine needs quantized feature maps; this plan keeps them float "
                "(--float-activations / WQ)");
  const FakeQuant fq = resolve_plan(g, plan);  // checks the plan against the graph
  formats_.resize(g.values.size());
  for (size_t v = 0; v < g.values.size(); ++v)
    if (fq.value_format[v]) formats_[v] = *fq.value_format[v];
  nodes_.resize(g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    IntegerNode& in = nodes_[i];
    const quant::Format& out = formats_[static_cast<size_t>(n.outputs[0])];
    const int x = n.inputs[0];
    const int fx = formats_[static_cast<size_t>(x)].frac;
    if (n.attrs.activation == Activation::LeakyRelu || n.attrs.activation == Activation::Sigmoid)
      unsupported(n, "fused LeakyRelu/Sigmoid");
    auto stage = [&](std::vector<int> shift) {
      return kernels::output_stage(out, rounding_, n.attrs, std::move(shift));
    };
    switch (n.op) {
      case OpType::Conv:
      case OpType::Gemm: {
        in.codes =
            layer_codes(g, n, plan.layers.at(n.name), formats_[static_cast<size_t>(x)], rounding_);
        std::vector<int> shift;
        for (int fw : in.codes.weight_frac) shift.push_back(fw + fx - out.frac);
        in.stage = stage(std::move(shift));
        // The largest |accumulator| any input can produce: |bias| + sum |w| * max |x|.
        const quant::Format& xf = formats_[static_cast<size_t>(x)];
        const uint64_t xmax = static_cast<uint64_t>(std::max(-xf.qmin(), xf.qmax()));
        const size_t channels = in.codes.weight_frac.size();
        const size_t per = in.codes.weight.size() / channels;
        uint64_t bound = 0;
        for (size_t m = 0; m < channels; ++m) {
          unsigned __int128 b = in.codes.bias.empty()
                                    ? 0
                                    : static_cast<unsigned __int128>(std::llabs(in.codes.bias[m]));
          for (size_t k = m * per; k < (m + 1) * per; ++k)
            b += static_cast<unsigned __int128>(std::abs(in.codes.weight[k])) * xmax;
          if (b >= (static_cast<unsigned __int128>(1) << 62))
            throw Error(ErrorKind::Numerical,
                        str_cat("layer '", n.name, "': the accumulator may exceed int64 (",
                                out.bits, "-bit output, ", xf.bits,
                                "-bit input); use fewer bits or per-channel formats"));
          bound = std::max(bound, static_cast<uint64_t>(b));
        }
        in.accumulator_bits = bit_length(bound) + 1;
        in.wide = bound > static_cast<uint64_t>(INT32_MAX);
        in.int8 = n.op == OpType::Conv &&
                  kernels::int8_conv_applies(xf, plan.layers.at(n.name).weight, in.wide);
        break;
      }
      case OpType::MaxPool:
      case OpType::AveragePool:
      case OpType::GlobalAveragePool:
      case OpType::LRN:
      case OpType::Relu:
      case OpType::Clip:
      case OpType::Flatten:
      case OpType::Reshape:
      case OpType::Identity:
      case OpType::Dropout:
        in.stage = stage(
            {n.op == OpType::LRN ? kernels::kLrnMultiplierBits + fx - out.frac : fx - out.frac});
        if (n.op == OpType::Relu) {
          in.stage.lo = std::max<int64_t>(in.stage.lo, 0);
        } else if (n.op == OpType::Clip) {
          Attributes a;
          a.activation = Activation::Clip;
          a.act_min = n.attrs.clip_min;
          a.act_max = n.attrs.clip_max;
          const kernels::OutputStage c = kernels::output_stage(out, rounding_, a, {0});
          in.stage.lo = std::max(in.stage.lo, c.lo);
          in.stage.hi = std::min(in.stage.hi, c.hi);
        }
        break;
      case OpType::Add:
      case OpType::Mul: {
        const int x1 = n.inputs[1];
        if (g.values[static_cast<size_t>(x1)].is_constant) unsupported(n, "a constant operand");
        if (g.values[static_cast<size_t>(x1)].shape != g.values[static_cast<size_t>(x)].shape)
          unsupported(n, "broadcasting");
        const int f1 = formats_[static_cast<size_t>(x1)].frac;
        if (n.op == OpType::Add && std::abs(fx - f1) > 40)
          unsupported(n, str_cat("operand fracs ", fx, " and ", f1, " too far apart to align"));
        in.stage = stage({(n.op == OpType::Add ? std::max(fx, f1) : fx + f1) - out.frac});
        break;
      }
      case OpType::Concat:
        in.stage = stage({0});
        for (int v : n.inputs)
          in.input_stages.push_back(kernels::output_stage(
              out, rounding_, Attributes{}, {formats_[static_cast<size_t>(v)].frac - out.frac}));
        break;
      case OpType::Softmax: unsupported(n, "Softmax (classify on the logits before it)");
      case OpType::Sigmoid:
      case OpType::LeakyRelu: unsupported(n, "non-piecewise-linear activation");
      case OpType::BatchNormalization: unsupported(n, "BatchNormalization not folded into a Conv");
      case OpType::Pad: unsupported(n, "Pad (fold it into the next Conv's padding)");
      case OpType::MatMul:
      case OpType::Constant: unsupported(n, "survives import");
    }
  }
}

const quant::Format& IntegerProgram::format(int value) const {
  GAMMAQ_CHECK(value >= 0 && static_cast<size_t>(value) < formats_.size(), "value ", value);
  return formats_[static_cast<size_t>(value)];
}

IntegerKernels::IntegerKernels() = default;
IntegerKernels::~IntegerKernels() = default;

kernels::Int8Conv* IntegerKernels::conv(const IntegerProgram& p, size_t node,
                                        const kernels::WindowGeom& g) {
  if (batch_ != g.n) {
    convs_.clear();
    tried_.clear();
    batch_ = g.n;
  }
  convs_.resize(p.graph().nodes.size());
  tried_.resize(p.graph().nodes.size(), false);
  if (!tried_[node]) {
    tried_[node] = true;
    const Node& n = p.graph().nodes[node];
    const IntegerNode& in = p.node(node);
    convs_[node] = kernels::Int8Conv::make(g, p.format(n.inputs[0]), in.codes.weight.data(),
                                           in.codes.bias.empty() ? nullptr : in.codes.bias.data());
  }
  return convs_[node].get();
}

const kernels::LrnTable& IntegerKernels::lrn(const IntegerProgram& p, size_t node) {
  lrn_.resize(p.graph().nodes.size());
  auto& t = lrn_[node];
  if (!t) {
    const Node& n = p.graph().nodes[node];
    const quant::Format& f = p.format(n.inputs[0]);
    t = std::make_unique<kernels::LrnTable>(n.attrs, f.frac, std::max(-f.qmin(), f.qmax()));
  }
  return *t;
}

std::vector<std::string> IntegerKernels::describe(const IntegerProgram& p) const {
  std::vector<std::string> out;
  for (size_t i = 0; i < convs_.size(); ++i)
    if (tried_[i])
      out.push_back(str_cat(p.graph().nodes[i].name, ": ",
                            convs_[i] ? convs_[i]->description() : "int32 (not provably exact)"));
  return out;
}

void run_integer(const IntegerProgram& p, const Tensor& images,
                 std::vector<std::vector<int32_t>>& codes, IntegerKernels* fast,
                 std::vector<double>* node_seconds) {
  const Graph& g = p.graph();
  const int64_t batch = images.shape[0];
  codes.resize(g.values.size());
  auto shape_of = [&](int v) {
    Shape s = g.values[static_cast<size_t>(v)].shape;
    s[0] = batch;
    return s;
  };
  {
    const quant::Format& f = p.format(g.input);
    std::vector<int32_t>& c = codes[static_cast<size_t>(g.input)];
    c.resize(images.data.size());
    if (fast) {  // the simulation's vectorised rounding, then value * 2^frac (exact)
      std::vector<float> v = images.data;
      quant::fake_quant(v, f, p.rounding());
      const auto scale = static_cast<float>(std::ldexp(1.0, f.frac));
      for (size_t i = 0; i < c.size(); ++i) c[i] = static_cast<int32_t>(v[i] * scale);
    } else {
      for (size_t i = 0; i < c.size(); ++i)
        c[i] = static_cast<int32_t>(quant::quantize_code(images.data[i], f, p.rounding()));
    }
  }
  // Adds the node's wall time to node_seconds when it leaves the loop body.
  struct NodeTimer {
    std::vector<double>* seconds;
    size_t node;
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    ~NodeTimer() {
      if (seconds)
        (*seconds)[node] +=
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
  };
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const NodeTimer timer{node_seconds, i};
    const Node& n = g.nodes[i];
    const IntegerNode& in = p.node(i);
    const Attributes& a = n.attrs;
    const Shape xs = shape_of(n.inputs[0]), ys = shape_of(n.outputs[0]);
    const int32_t* x = codes[static_cast<size_t>(n.inputs[0])].data();
    std::vector<int32_t>& y = codes[static_cast<size_t>(n.outputs[0])];
    y.resize(static_cast<size_t>(shape_numel(ys)));
    const int64_t* bias = in.codes.bias.empty() ? nullptr : in.codes.bias.data();
    switch (n.op) {
      case OpType::Conv: {
        const kernels::WindowGeom geom = kernels::window_geom(a, xs, ys);
        if (kernels::Int8Conv* c = fast && in.int8 ? fast->conv(p, i, geom) : nullptr)
          c->run(x, in.stage, y.data());
        else
          kernels::conv2d_int(geom, x, in.codes.weight.data(), bias, in.stage, in.wide, y.data());
        break;
      }
      case OpType::Gemm:
        kernels::gemm_int(batch, shape_numel(xs) / batch, ys[1], x, in.codes.weight.data(), bias,
                          in.stage, in.wide, y.data());
        break;
      case OpType::MaxPool:
        if (fast)
          kernels::maxpool2d_int(kernels::window_geom(a, xs, ys), x, in.stage, y.data());
        else
          kernels::maxpool2d_int_ref(kernels::window_geom(a, xs, ys), x, in.stage, y.data());
        break;
      case OpType::AveragePool:
        kernels::avgpool2d_int_ref(kernels::window_geom(a, xs, ys), a.count_include_pad, x,
                                   in.stage, y.data());
        break;
      case OpType::GlobalAveragePool:
        kernels::global_avgpool_int_ref(xs[0], xs[1], xs[2] * xs[3], x, in.stage, y.data());
        break;
      case OpType::LRN:
        if (fast)
          kernels::lrn_int(xs[0], xs[1], xs[2] * xs[3], a, p.format(n.inputs[0]).frac,
                           fast->lrn(p, i), x, in.stage, y.data());
        else
          kernels::lrn_int_ref(xs[0], xs[1], xs[2] * xs[3], a, p.format(n.inputs[0]).frac, x,
                               in.stage, y.data());
        break;
      case OpType::Add:
      case OpType::Mul: {
        const std::vector<int32_t>& x0 = codes[static_cast<size_t>(n.inputs[0])];
        kernels::binary_int_ref(n.op, x0, p.format(n.inputs[0]).frac,
                                codes[static_cast<size_t>(n.inputs[1])], p.format(n.inputs[1]).frac,
                                in.stage, y);
        break;
      }
      case OpType::Concat: {
        std::vector<Shape> shapes;
        std::vector<const int32_t*> ptrs;
        for (int v : n.inputs) {
          shapes.push_back(shape_of(v));
          ptrs.push_back(codes[static_cast<size_t>(v)].data());
        }
        if (fast)
          kernels::concat_int(a.axis, shapes, ptrs, in.input_stages, ys, y.data());
        else
          kernels::concat_int_ref(a.axis, shapes, ptrs, in.input_stages, ys, y.data());
        break;
      }
      default:  // Relu, Clip, Flatten, Reshape, Identity, Dropout (the program refused the rest)
        kernels::requantize_int_ref(codes[static_cast<size_t>(n.inputs[0])], in.stage, y);
        break;
    }
  }
}

}  // namespace gammaq
