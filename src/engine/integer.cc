#include "engine/integer.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "engine/integer_ops.h"
#include "gammaq/error.h"
#include "ops/op.h"

namespace gammaq {
void IntegerPlanner::unsupported(const Node& n, const std::string& why) {
  throw Error(ErrorKind::UnsupportedOp,
              str_cat("node '", n.name, "' (", op_name(n.op), "): no integer form: ", why));
}

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
  IntegerPlanner planner(g, plan, formats_, rounding_);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if (n.attrs.activation == Activation::LeakyRelu || n.attrs.activation == Activation::Sigmoid)
      IntegerPlanner::unsupported(n, "fused LeakyRelu/Sigmoid");
    const ops::OpDef& def = ops::def(n.op);
    if (!def.integer_plan) IntegerPlanner::unsupported(n, def.no_integer);
    def.integer_plan(planner, n, nodes_[i]);
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
    std::vector<int32_t>& y = codes[static_cast<size_t>(n.outputs[0])];
    IntegerStep step{p,
                     i,
                     n,
                     p.node(i),
                     codes,
                     fast,
                     batch,
                     shape_of(n.inputs[0]),
                     shape_of(n.outputs[0]),
                     codes[static_cast<size_t>(n.inputs[0])].data(),
                     y};
    y.resize(static_cast<size_t>(shape_numel(step.ys)));
    if (const auto run = ops::def(n.op).integer_run)
      run(step);
    else  // data movement and piecewise-linear activations: the stage alone
      kernels::requantize_int_ref(codes[static_cast<size_t>(n.inputs[0])], step.in.stage, y);
  }
}

}  // namespace gammaq
