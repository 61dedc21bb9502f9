// The per-node import driver and the attribute/input readers the operators' import hooks use
// (onnx/import_rules.h); each operator's own rule is its OpDef (src/ops/).
#include <algorithm>
#include <cmath>
#include <optional>

#include "onnx/import_rules.h"
#include "ops/op.h"

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

// ---------------------------------------------------------------- Attrs

const onnx::AttributeProto* Attrs::find(std::string_view name) const {
  for (const auto& a : n_.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}
int64_t Attrs::i(std::string_view name, int64_t def) const {
  const auto* a = find(name);
  if (!a) return def;
  if (a->type() != onnx::AttributeProto::INT) fail(name, "must be an integer");
  return a->i();
}
float Attrs::f(std::string_view name, float def) const {
  const auto* a = find(name);
  if (!a) return def;
  if (a->type() != onnx::AttributeProto::FLOAT) fail(name, "must be a float");
  if (!std::isfinite(a->f())) fail(name, "must be finite");
  return a->f();
}
std::string Attrs::s(std::string_view name, std::string def) const {
  const auto* a = find(name);
  if (!a) return def;
  if (a->type() != onnx::AttributeProto::STRING) fail(name, "must be a string");
  return a->s();
}
std::vector<int64_t> Attrs::ints(std::string_view name, std::vector<int64_t> def) const {
  const auto* a = find(name);
  if (!a) return def;
  if (a->type() != onnx::AttributeProto::INTS) fail(name, "must be a list of integers");
  return {a->ints().begin(), a->ints().end()};
}
void Attrs::fail(std::string_view name, std::string_view rule) const {
  throw Error(ErrorKind::InvalidModel, str_cat(label_, ": attribute '", name, "' ", rule));
}
void Attrs::unsupported(std::string_view what) const {
  throw Error(ErrorKind::UnsupportedOp, str_cat(label_, ": ", what));
}

// ---------------------------------------------------------------- NodeIo

int NodeIo::input(int k) const {
  if (!has_input(k)) invalid(str_cat("input ", k, " is missing"));
  return ctx.lookup(n.input(k), str_cat(label, ": input"));
}

int NodeIo::weight(int k, std::string_view role) const {
  const int id = input(k);
  const Value& v = ctx.g.values[id];
  if (!v.is_constant)
    throw Error(ErrorKind::UnsupportedOp,
                str_cat(label, ": ", role, " '", v.name,
                        "' is computed at run time; gammaq needs it to be an initializer"));
  if (v.data.numel() < 1)
    invalid(str_cat(role, " '", v.name, "' is empty (shape ", shape_str(v.shape), ")"));
  for (size_t i = 0; i < v.data.data.size(); ++i)
    if (!std::isfinite(v.data.data[i]))
      invalid(str_cat(role, " '", v.name, "' holds ", std::isnan(v.data.data[i]) ? "NaN" : "Inf",
                      " at index ", i));
  return id;
}

int NodeIo::activation(int k) const {
  const int id = input(k);
  if (ctx.g.values[id].is_constant)
    a.unsupported(str_cat("input ", k, " is a constant; expected an activation"));
  return id;
}

float NodeIo::scalar(int k, std::string_view role) const {
  const Value& v = ctx.g.values[input(k)];
  if (!v.is_constant || v.data.numel() != 1)
    a.unsupported(str_cat(role, " must be a constant scalar"));
  return v.data.data[0];
}

void NodeIo::single_output() const {
  for (int k = 1; k < n.output_size(); ++k)
    if (!n.output(k).empty() && used(n.output(k)))
      a.unsupported(
          str_cat("output ", k, " ('", n.output(k),
                  "') is used; gammaq implements only the first output of this operator"));
}

void NodeIo::invalid(std::string_view what) const {
  throw Error(ErrorKind::InvalidModel, str_cat(label, ": ", what));
}

Shape NodeIo::inferred(int k) const {
  const NodeIo& io = *this;
  if (k >= n.output_size() || n.output(k).empty()) invalid(str_cat("output ", k, " is missing"));
  auto it = io.ctx.shapes.find(io.n.output(k));
  if (it == io.ctx.shapes.end())
    io.invalid(
        str_cat("ONNX shape inference gave no static shape for output '", io.n.output(k), "'"));
  const Shape& s = it->second;
  if (s.empty() || s[0] != 1)
    io.a.unsupported(
        str_cat("output shape ", shape_str(s), " does not keep the batch as dimension 0"));
  int64_t numel = 1;
  for (int64_t d : s) {
    if (d < 1)
      io.invalid(str_cat("output shape ", shape_str(s),
                         " has an empty or negative dimension (window larger than its input?)"));
    if (numel > kMaxElements / d)
      io.invalid(str_cat("output shape ", shape_str(s), " exceeds 2^31 elements"));
    numel *= d;
  }
  return s;
}

int NodeIo::emit(Node node, const std::string& name, Shape shape) const {
  const int id = ctx.add_activation(name, std::move(shape), static_cast<int>(ctx.g.nodes.size()));
  node.outputs = {id};
  ctx.g.nodes.push_back(std::move(node));
  return id;
}

// ---------------------------------------------------------------- shared rules

int image_rank(const RankIo& r) {
  const int rank = r.in_rank(0);
  if (rank < 0)
    throw Error(ErrorKind::UnsupportedOp,
                str_cat(r.label, ": the rank of input '", r.n.input_size() > 0 ? r.n.input(0) : "",
                        "' depends on a shape computation gammaq cannot follow before shape "
                        "inference; only 2-D images (N x C x H x W)"));
  if (rank != 4)
    throw Error(ErrorKind::UnsupportedOp,
                str_cat(r.label, ": input rank ", rank, "; only 2-D images (N x C x H x W)"));
  return 4;
}

namespace {

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

}  // namespace

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

void check_broadcast(const NodeIo& io, Node& node, const Shape& out) {
  Shape b(out.size(), 1);
  for (int id : node.inputs) {
    const Value& v = io.ctx.g.values[id];
    const Shape& s = v.shape;
    const bool bad_rank = v.is_constant ? s.size() > out.size() : s.size() != out.size();
    if (bad_rank || (v.is_constant && s.size() == out.size() && s[0] != 1))
      io.a.unsupported(str_cat("operand '", v.name, "' of shape ", shape_str(s),
                               " does not broadcast to ", shape_str(out), " along the batch"));
    for (size_t k = 0; k < s.size(); ++k) {
      int64_t& d = b[out.size() - s.size() + k];
      if (s[k] != 1 && d != 1 && s[k] != d)
        io.invalid(str_cat("operand shapes do not broadcast (", shape_str(s), ")"));
      if (s[k] != 1) d = s[k];
    }
  }
  if (b != out)
    io.invalid(
        str_cat("operands broadcast to ", shape_str(b), ", shape inference says ", shape_str(out)));
}

void check_same_numel(const NodeIo& io, Node& node, const Shape& out) {
  const Shape& x0 = io.shape_of(node.inputs[0]);
  if (shape_numel(out) != shape_numel(x0))
    io.invalid(str_cat("output shape ", shape_str(out), " has ", shape_numel(out),
                       " elements, input ", shape_str(x0), " has ", shape_numel(x0)));
}

// ---------------------------------------------------------------- the driver

void import_node(Context& ctx, const onnx::NodeProto& n, int index) {
  const std::string label = node_label(n, index);
  const std::optional<OpType> known = op_from_onnx(n.op_type());
  if (!known) {  // shape arithmetic that did not fold (onnx/fold.h)
    std::string runtime;
    for (const auto& in : n.input())
      if (!in.empty() && ctx.by_name.count(in) &&
          !ctx.g.values[ctx.lookup(in, "input")].is_constant)
        runtime = in;
    throw Error(
        ErrorKind::UnsupportedOp,
        str_cat(label, ": a shape computation that does not fold to a constant",
                runtime.empty() ? std::string()
                                : str_cat(" (it reads '", runtime, "', computed at run time)"),
                "; gammaq runs ", n.op_type(), " only on constants and on static shapes (opset ",
                ctx.g.opset, ")"));
  }
  const OpType op = *known;
  NodeIo io{ctx, n, label, Attrs(n, label), op};
  if (!ops::def(op).import)
    io.a.unsupported(str_cat("'", n.op_type(), "' is not an ONNX operator"));
  if (n.output_size() < 1 || n.output(0).empty()) io.invalid("has no output");
  Node node;
  node.name = n.name().empty() ? str_cat(n.op_type(), "#", index) : n.name();
  node.op = op;
  const ops::OpDef& def = ops::def(op);
  const ops::Imported how = def.import(io, node);
  if (how != ops::Imported::Node) return;
  const Shape out = io.inferred(0);
  if (def.check_shape) def.check_shape(io, node, out);
  node.outputs = {ctx.add_activation(n.output(0), out, static_cast<int>(ctx.g.nodes.size()))};
  ctx.g.nodes.push_back(std::move(node));
}

}  // namespace gammaq::onnx_import
