// Per-operator mapping from ONNX NodeProto to gammaq Node: attribute parsing and validation.
#include <algorithm>
#include <cmath>

#include "onnx/import_context.h"

namespace gammaq::onnx_import {

int Context::lookup(const std::string& name, std::string_view what) const {
  auto it = by_name.find(name);
  if (it == by_name.end())
    throw Error(ErrorKind::InvalidModel, str_cat(what, " '", name, "' is undefined"));
  return it->second;
}

int Context::add_constant(const std::string& name, Tensor t) {
  const int id = add_internal_constant(name, std::move(t));
  by_name[name] = id;
  return id;
}

int Context::add_internal_constant(const std::string& name, Tensor t) {
  Value v;
  v.name = name;
  v.shape = t.shape;
  v.is_constant = true;
  v.data = std::move(t);
  return g.add_value(std::move(v));
}

int Context::add_activation(const std::string& name, Shape shape, int producer) {
  Value v;
  v.name = name;
  v.shape = std::move(shape);
  v.producer = producer;
  const int id = g.add_value(std::move(v));
  by_name[name] = id;
  return id;
}

std::string node_label(const onnx::NodeProto& n, int index) {
  return str_cat("node '", n.name().empty() ? str_cat(n.op_type(), "#", index) : n.name(), "' (",
                 n.op_type(), ", #", index, ")");
}

namespace {

// Bounds on window attributes and tensor sizes: far above any CNN, small enough that no
// index arithmetic overflows int64.
constexpr int64_t kMaxWindow = int64_t{1} << 20;
constexpr int64_t kMaxElements = int64_t{1} << 31;

// Reads attributes of one node, remembering which were consumed so unknown ones can be
// reported.
class Attrs {
 public:
  Attrs(const onnx::NodeProto& n, std::string label) : n_(n), label_(std::move(label)) {}

  const onnx::AttributeProto* find(std::string_view name) const {
    for (const auto& a : n_.attribute())
      if (a.name() == name) return &a;
    return nullptr;
  }
  int64_t i(std::string_view name, int64_t def) const {
    const auto* a = find(name);
    if (!a) return def;
    if (a->type() != onnx::AttributeProto::INT) fail(name, "must be an integer");
    return a->i();
  }
  float f(std::string_view name, float def) const {
    const auto* a = find(name);
    if (!a) return def;
    if (a->type() != onnx::AttributeProto::FLOAT) fail(name, "must be a float");
    if (!std::isfinite(a->f())) fail(name, "must be finite");
    return a->f();
  }
  std::string s(std::string_view name, std::string def) const {
    const auto* a = find(name);
    if (!a) return def;
    if (a->type() != onnx::AttributeProto::STRING) fail(name, "must be a string");
    return a->s();
  }
  std::vector<int64_t> ints(std::string_view name, std::vector<int64_t> def) const {
    const auto* a = find(name);
    if (!a) return def;
    if (a->type() != onnx::AttributeProto::INTS) fail(name, "must be a list of integers");
    return {a->ints().begin(), a->ints().end()};
  }
  [[noreturn]] void fail(std::string_view name, std::string_view rule) const {
    throw Error(ErrorKind::InvalidModel, str_cat(label_, ": attribute '", name, "' ", rule));
  }
  [[noreturn]] void unsupported(std::string_view what) const {
    throw Error(ErrorKind::UnsupportedOp, str_cat(label_, ": ", what));
  }

 private:
  const onnx::NodeProto& n_;
  std::string label_;
};

struct NodeIo {
  Context& ctx;
  const onnx::NodeProto& n;
  std::string label;

  bool has_input(int k) const { return k < n.input_size() && !n.input(k).empty(); }
  int input(int k) const {
    if (!has_input(k))
      throw Error(ErrorKind::InvalidModel, str_cat(label, ": input ", k, " is missing"));
    return ctx.lookup(n.input(k), str_cat(label, ": input"));
  }
  const Value& value(int k) const { return ctx.g.values[input(k)]; }
  // A constant input used as a weight: must be an initializer (or Constant) and finite.
  int weight(int k, std::string_view role) const {
    const int id = input(k);
    const Value& v = ctx.g.values[id];
    if (!v.is_constant)
      throw Error(ErrorKind::UnsupportedOp,
                  str_cat(label, ": ", role, " '", v.name,
                          "' is computed at run time; gammaq needs it to be an initializer"));
    if (v.data.numel() < 1)
      throw Error(ErrorKind::InvalidModel, str_cat(label, ": ", role, " '", v.name,
                                                   "' is empty (shape ", shape_str(v.shape), ")"));
    for (size_t i = 0; i < v.data.data.size(); ++i)
      if (!std::isfinite(v.data.data[i]))
        throw Error(ErrorKind::InvalidModel,
                    str_cat(label, ": ", role, " '", v.name, "' holds ",
                            std::isnan(v.data.data[i]) ? "NaN" : "Inf", " at index ", i));
    return id;
  }
  // An activation input (computed from the image input).
  int activation(int k) const {
    const int id = input(k);
    if (ctx.g.values[id].is_constant)
      throw Error(ErrorKind::UnsupportedOp,
                  str_cat(label, ": input ", k, " is a constant; expected an activation"));
    return id;
  }
  // Outputs beyond the first must be unused optional outputs.
  void single_output() const {
    for (int k = 1; k < n.output_size(); ++k)
      if (!n.output(k).empty() && used(n.output(k)))
        throw Error(ErrorKind::UnsupportedOp,
                    str_cat(label, ": output ", k, " ('", n.output(k),
                            "') is used; gammaq "
                            "implements only the first output of this operator"));
  }
  bool used(const std::string& name) const { return ctx.consumed.count(name) > 0; }
};

Shape inferred_shape(const Context& ctx, const onnx::NodeProto& n, const std::string& label) {
  auto it = ctx.shapes.find(n.output(0));
  if (it == ctx.shapes.end())
    throw Error(ErrorKind::InvalidModel,
                str_cat(label, ": ONNX shape inference gave no static shape for output '",
                        n.output(0), "'"));
  if (it->second.empty() || it->second[0] != 1)
    throw Error(ErrorKind::UnsupportedOp, str_cat(label, ": output shape ", shape_str(it->second),
                                                  " does not keep the batch as dimension 0"));
  int64_t numel = 1;
  for (int64_t d : it->second) {
    if (d < 1)
      throw Error(ErrorKind::InvalidModel,
                  str_cat(label, ": output shape ", shape_str(it->second),
                          " has an empty or negative dimension (window larger than its input?)"));
    if (numel > kMaxElements / d)
      throw Error(ErrorKind::InvalidModel, str_cat(label, ": output shape ", shape_str(it->second),
                                                   " exceeds 2^31 elements"));
    numel *= d;
  }
  return it->second;
}

// Resolves auto_pad into explicit pads for a 2-D window op.
std::vector<int64_t> spatial_pads(const Attrs& a, const Shape& x, const std::vector<int64_t>& k,
                                  const std::vector<int64_t>& s, const std::vector<int64_t>& d) {
  const std::string auto_pad = a.s("auto_pad", "NOTSET");
  if (auto_pad == "NOTSET") {
    auto pads = a.ints("pads", {0, 0, 0, 0});
    if (pads.size() != 4) a.fail("pads", str_cat("has ", pads.size(), " values, expected 4"));
    for (int64_t p : pads)
      if (p < 0 || p > kMaxWindow) a.fail("pads", "must be in [0, 2^20]");
    return pads;
  }
  if (a.find("pads")) a.fail("pads", "must not be given together with auto_pad");
  if (auto_pad == "VALID") return {0, 0, 0, 0};
  if (auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER")
    a.fail("auto_pad", "must be NOTSET, SAME_UPPER, SAME_LOWER or VALID");
  std::vector<int64_t> pads(4);
  for (int i = 0; i < 2; ++i) {
    const int64_t in = x[2 + i];
    const int64_t out = (in + s[i] - 1) / s[i];
    const int64_t total = std::max<int64_t>(0, (out - 1) * s[i] + (k[i] - 1) * d[i] + 1 - in);
    const int64_t small = total / 2, large = total - small;
    pads[i] = auto_pad == "SAME_UPPER" ? small : large;
    pads[i + 2] = auto_pad == "SAME_UPPER" ? large : small;
  }
  return pads;
}

std::vector<int64_t> positive_ints(const Attrs& a, std::string_view name, std::vector<int64_t> def,
                                   size_t count) {
  auto v = a.ints(name, std::move(def));
  if (v.size() != count) a.fail(name, str_cat("has ", v.size(), " values, expected ", count));
  for (int64_t x : v)
    if (x < 1 || x > kMaxWindow) a.fail(name, "values must be in [1, 2^20]");
  return v;
}

void window_attrs(const Attrs& a, const Shape& x, Attributes& at, bool with_dilations) {
  if (x.size() != 4) a.unsupported(str_cat("input rank ", x.size(), "; only 2-D images (NCHW)"));
  at.strides = positive_ints(a, "strides", {1, 1}, 2);
  at.dilations =
      with_dilations ? positive_ints(a, "dilations", {1, 1}, 2) : std::vector<int64_t>{1, 1};
  at.pads = spatial_pads(a, x, at.kernel, at.strides, at.dilations);
}

// Add/Mul: the activation operands have the output's rank and broadcast to it without
// touching the batch dimension; a constant has at most that rank and, at equal rank, size 1
// in the batch dimension. The broadcast computed from the real shapes must be the inferred one.
void check_broadcast(const Context& ctx, const Node& node, const Shape& out,
                     const std::string& label) {
  Shape b(out.size(), 1);
  for (int id : node.inputs) {
    const Value& v = ctx.g.values[id];
    const Shape& s = v.shape;
    const bool bad_rank = v.is_constant ? s.size() > out.size() : s.size() != out.size();
    if (bad_rank || (v.is_constant && s.size() == out.size() && s[0] != 1))
      throw Error(ErrorKind::UnsupportedOp,
                  str_cat(label, ": operand '", v.name, "' of shape ", shape_str(s),
                          " does not broadcast to ", shape_str(out), " along the batch"));
    for (size_t k = 0; k < s.size(); ++k) {
      int64_t& d = b[out.size() - s.size() + k];
      if (s[k] != 1 && d != 1 && s[k] != d)
        throw Error(ErrorKind::InvalidModel,
                    str_cat(label, ": operand shapes do not broadcast (", shape_str(s), ")"));
      if (s[k] != 1) d = s[k];
    }
  }
  if (b != out)
    throw Error(ErrorKind::InvalidModel, str_cat(label, ": operands broadcast to ", shape_str(b),
                                                 ", shape inference says ", shape_str(out)));
}

}  // namespace

void import_node(Context& ctx, const onnx::NodeProto& n, int index) {
  const std::string label = node_label(n, index);
  const OpType op = *op_from_onnx(n.op_type());  // checked before import
  const Attrs a(n, label);
  NodeIo io{ctx, n, label};
  if (n.output_size() < 1 || n.output(0).empty())
    throw Error(ErrorKind::InvalidModel, label + ": has no output");

  Node node;
  node.name = n.name().empty() ? str_cat(n.op_type(), "#", index) : n.name();
  node.op = op;
  Attributes& at = node.attrs;

  // Constant folding of value-producing nodes whose inputs are all constants.
  if (op == OpType::Constant) {
    const auto* v = a.find("value");
    if (!v || v->type() != onnx::AttributeProto::TENSOR)
      a.unsupported("only the 'value' tensor form of Constant is supported");
    try {
      ctx.add_constant(n.output(0), tensor_from_proto(v->t(), true));
    } catch (const Error& e) {
      throw with_context(e, label + ": attribute 'value'");
    }
    return;
  }
  if ((op == OpType::Identity || op == OpType::Dropout) && ctx.g.values[io.input(0)].is_constant) {
    Tensor t = ctx.g.values[io.input(0)].data;
    ctx.add_constant(n.output(0), std::move(t));
    return;
  }

  switch (op) {
    case OpType::Conv: {
      node.inputs = {io.activation(0), io.weight(1, "weight")};
      const Shape& x = ctx.g.values[node.inputs[0]].shape;
      const Shape& w = ctx.g.values[node.inputs[1]].shape;
      if (w.size() != 4) a.unsupported(str_cat("weight rank ", w.size(), "; only 2-D convolution"));
      at.group = a.i("group", 1);
      if (at.group < 1 || x.size() != 4 || x[1] % at.group != 0 || w[0] % at.group != 0 ||
          w[1] * at.group != x[1])
        a.fail("group", str_cat("= ", at.group, " does not fit input ", shape_str(x),
                                " and weight ", shape_str(w)));
      at.kernel = {w[2], w[3]};
      auto ks = a.ints("kernel_shape", at.kernel);
      if (ks != at.kernel)
        a.fail("kernel_shape", str_cat("disagrees with the weight shape ", shape_str(w)));
      window_attrs(a, x, at, true);
      if (io.has_input(2)) {
        node.inputs.push_back(io.weight(2, "bias"));
        if (ctx.g.values[node.inputs[2]].shape != Shape{w[0]})
          throw Error(ErrorKind::InvalidModel,
                      str_cat(label, ": bias shape ", shape_str(ctx.g.values[node.inputs[2]].shape),
                              ", expected ", w[0]));
      }
      break;
    }
    case OpType::Gemm:
    case OpType::MatMul: {
      // Canonical form: Gemm with weight [out, in] and optional bias [out]; alpha/beta folded.
      const int x_id = io.activation(0);
      const Shape& x = ctx.g.values[x_id].shape;
      if (x.size() != 2)
        a.unsupported(str_cat("input rank ", x.size(), "; only 2-D inputs [N, K] (use Flatten)"));
      if (a.i("transA", 0) != 0) a.unsupported("transA=1 is not supported");
      const int w_id = io.weight(1, "weight");
      Tensor w = ctx.g.values[w_id].data;
      if (w.rank() != 2)
        throw Error(ErrorKind::InvalidModel,
                    str_cat(label, ": weight shape ", shape_str(w.shape), ", expected 2-D"));
      const bool trans_b = op == OpType::Gemm && a.i("transB", 0) != 0;
      const float alpha = op == OpType::Gemm ? a.f("alpha", 1.0f) : 1.0f;
      const float beta = op == OpType::Gemm ? a.f("beta", 1.0f) : 1.0f;
      const int64_t k = trans_b ? w.shape[1] : w.shape[0];
      const int64_t out = trans_b ? w.shape[0] : w.shape[1];
      if (k != x[1])
        throw Error(ErrorKind::InvalidModel, str_cat(label, ": weight ", shape_str(w.shape),
                                                     " does not match input ", shape_str(x)));
      Tensor wt(Shape{out, k});
      for (int64_t o = 0; o < out; ++o)
        for (int64_t i = 0; i < k; ++i)
          wt.data[o * k + i] = alpha * (trans_b ? w.data[o * k + i] : w.data[i * out + o]);
      node.op = OpType::Gemm;
      node.inputs = {x_id,
                     ctx.add_internal_constant(ctx.g.values[w_id].name + "#gemm", std::move(wt))};
      if (op == OpType::Gemm && io.has_input(2)) {
        const Value& c = ctx.g.values[io.weight(2, "bias")];
        if (c.data.numel() != out && c.data.numel() != 1)
          throw Error(ErrorKind::UnsupportedOp, str_cat(label, ": bias shape ", shape_str(c.shape),
                                                        "; expected [", out, "] or a scalar"));
        Tensor b(Shape{out});
        for (int64_t o = 0; o < out; ++o)
          b.data[o] = beta * c.data.data[c.data.numel() == 1 ? 0 : o];
        node.inputs.push_back(ctx.add_internal_constant(c.name + "#gemm", std::move(b)));
      }
      break;
    }
    case OpType::Relu:
    case OpType::Sigmoid:
    case OpType::GlobalAveragePool:
    case OpType::Identity:
    case OpType::Dropout:
      node.inputs = {io.activation(0)};
      if (op == OpType::Dropout) {
        if (io.has_input(2)) {
          const Value& tm = ctx.g.values[io.input(2)];
          if (!tm.is_constant || (tm.data.numel() == 1 && tm.data.data[0] != 0.0f))
            a.unsupported("training_mode must be a constant false");
        }
        io.single_output();
      }
      if (op == OpType::GlobalAveragePool && ctx.g.values[node.inputs[0]].shape.size() != 4)
        a.unsupported("only 4-D inputs");
      break;
    case OpType::LeakyRelu:
      node.inputs = {io.activation(0)};
      at.alpha = a.f("alpha", 0.01f);
      break;
    case OpType::Clip:
      node.inputs = {io.activation(0)};
      if (io.has_input(1)) {
        const Value& v = ctx.g.values[io.input(1)];
        if (!v.is_constant || v.data.numel() != 1) a.unsupported("min must be a constant scalar");
        at.clip_min = v.data.data[0];
      }
      if (io.has_input(2)) {
        const Value& v = ctx.g.values[io.input(2)];
        if (!v.is_constant || v.data.numel() != 1) a.unsupported("max must be a constant scalar");
        at.clip_max = v.data.data[0];
      }
      if (std::isnan(at.clip_min) || std::isnan(at.clip_max) || !(at.clip_min <= at.clip_max))
        throw Error(ErrorKind::InvalidModel,
                    str_cat(label, ": min ", at.clip_min, " > max ", at.clip_max));
      break;
    case OpType::MaxPool:
    case OpType::AveragePool: {
      node.inputs = {io.activation(0)};
      const Shape& x = ctx.g.values[node.inputs[0]].shape;
      at.kernel = positive_ints(a, "kernel_shape", {}, 2);
      window_attrs(a, x, at, op == OpType::MaxPool);
      for (int i = 0; i < 4; ++i)
        if (at.pads[i] >= at.kernel[i % 2])
          a.fail("pads", str_cat("value ", at.pads[i], " must be smaller than the kernel (",
                                 at.kernel[i % 2], ")"));
      at.ceil_mode = a.i("ceil_mode", 0) != 0;
      at.count_include_pad = a.i("count_include_pad", 0) != 0;
      if (op == OpType::MaxPool && a.i("storage_order", 0) != 0)
        a.unsupported("storage_order=1 is not supported");
      io.single_output();
      break;
    }
    case OpType::LRN:
      node.inputs = {io.activation(0)};
      at.size = a.i("size", 0);
      if (at.size < 1) a.fail("size", "must be >= 1");
      at.alpha = a.f("alpha", 1e-4f);
      at.beta = a.f("beta", 0.75f);
      at.bias = a.f("bias", 1.0f);
      if (ctx.g.values[node.inputs[0]].shape.size() != 4) a.unsupported("only 4-D inputs");
      break;
    case OpType::Concat: {
      for (int k = 0; k < n.input_size(); ++k) node.inputs.push_back(io.activation(k));
      if (node.inputs.empty()) throw Error(ErrorKind::InvalidModel, label + ": no inputs");
      const int64_t rank = static_cast<int64_t>(ctx.g.values[node.inputs[0]].shape.size());
      at.axis = a.i("axis", 1);
      if (at.axis < 0) at.axis += rank;
      if (at.axis < 1 || at.axis >= rank)
        a.unsupported(str_cat("axis ", a.i("axis", 1), "; only non-batch axes"));
      break;
    }
    case OpType::Add:
    case OpType::Mul: {
      for (int k = 0; k < 2; ++k) {
        const int id = io.input(k);
        node.inputs.push_back(ctx.g.values[id].is_constant ? io.weight(k, "operand") : id);
      }
      if (ctx.g.values[node.inputs[0]].is_constant) std::swap(node.inputs[0], node.inputs[1]);
      if (ctx.g.values[node.inputs[0]].is_constant) a.unsupported("both operands are constants");
      break;
    }
    case OpType::BatchNormalization: {
      node.inputs = {io.activation(0)};
      const char* roles[] = {"scale", "B", "mean", "var"};
      const int64_t c =
          ctx.g.values[node.inputs[0]].shape.size() > 1 ? ctx.g.values[node.inputs[0]].shape[1] : 0;
      for (int k = 1; k <= 4; ++k) {
        node.inputs.push_back(io.weight(k, roles[k - 1]));
        if (ctx.g.values[node.inputs.back()].shape != Shape{c})
          throw Error(
              ErrorKind::InvalidModel,
              str_cat(label, ": ", roles[k - 1], " has shape ",
                      shape_str(ctx.g.values[node.inputs.back()].shape), ", expected [", c, "]"));
      }
      at.epsilon = a.f("epsilon", 1e-5f);
      if (a.i("training_mode", 0) != 0) a.unsupported("training_mode=1 is not supported");
      for (float v : ctx.g.values[node.inputs[4]].data.data)
        if (v < 0) throw Error(ErrorKind::InvalidModel, label + ": negative variance");
      io.single_output();
      break;
    }
    case OpType::Flatten: {
      node.inputs = {io.activation(0)};
      const int64_t rank = static_cast<int64_t>(ctx.g.values[node.inputs[0]].shape.size());
      at.axis = a.i("axis", 1);
      if (at.axis < 0) at.axis += rank;
      if (at.axis != 1) a.unsupported("only axis=1 (the batch stays dimension 0)");
      break;
    }
    case OpType::Reshape: {
      node.inputs = {io.activation(0)};
      const Value& s = ctx.g.values[io.input(1)];
      if (!s.is_constant) a.unsupported("the target shape must be a constant");
      if (s.data.numel() < 1 || (s.data.data[0] != 0 && s.data.data[0] != -1))
        a.unsupported("the target shape must keep the batch: its first entry must be 0 or -1");
      break;
    }
    case OpType::Softmax: {
      node.inputs = {io.activation(0)};
      const int64_t rank = static_cast<int64_t>(ctx.g.values[node.inputs[0]].shape.size());
      at.axis = a.i("axis", ctx.g.opset >= 13 ? -1 : 1);
      if (at.axis < 0) at.axis += rank;
      if (rank != 2 || at.axis != 1) a.unsupported("only 2-D inputs with axis 1 (= -1)");
      break;
    }
    case OpType::Pad: {
      node.inputs = {io.activation(0)};
      const std::string mode = a.s("mode", "constant");
      if (mode != "constant") a.unsupported(str_cat("mode '", mode, "'; only 'constant'"));
      const Value& p = ctx.g.values[io.input(1)];
      const int64_t rank = static_cast<int64_t>(ctx.g.values[node.inputs[0]].shape.size());
      if (!p.is_constant || p.data.numel() != 2 * rank)
        a.unsupported(str_cat("pads must be a constant of ", 2 * rank, " values"));
      for (float v : p.data.data) {
        if (v < 0) a.unsupported("negative pads (cropping)");
        if (!std::isfinite(v) || v > kMaxWindow) a.fail("pads", "values must be in [0, 2^20]");
        at.pads.push_back(static_cast<int64_t>(v));
      }
      if (at.pads[0] != 0 || at.pads[rank] != 0) a.unsupported("padding the batch dimension");
      if (io.has_input(2)) {
        const Value& cv = ctx.g.values[io.input(2)];
        if (!cv.is_constant || cv.data.numel() != 1)
          a.unsupported("constant_value must be a constant scalar");
        at.pad_value = cv.data.data[0];
        if (std::isnan(at.pad_value)) a.unsupported("a NaN constant_value");
      }
      if (io.has_input(3)) a.unsupported("the axes input");
      break;
    }
    case OpType::Constant: break;  // handled above
  }

  Shape out = inferred_shape(ctx, n, label);
  if (op == OpType::Reshape) at.reshape = out;
  const Shape& x0 = ctx.g.values[node.inputs[0]].shape;
  if ((op == OpType::Reshape || op == OpType::Flatten || op == OpType::Identity ||
       op == OpType::Dropout) &&
      shape_numel(out) != shape_numel(x0))
    throw Error(ErrorKind::InvalidModel,
                str_cat(label, ": output shape ", shape_str(out), " has ", shape_numel(out),
                        " elements, input ", shape_str(x0), " has ", shape_numel(x0)));
  if (op == OpType::Add || op == OpType::Mul) check_broadcast(ctx, node, out, label);
  node.outputs = {ctx.add_activation(n.output(0), out, static_cast<int>(ctx.g.nodes.size()))};
  ctx.g.nodes.push_back(std::move(node));
}

}  // namespace gammaq::onnx_import
