// Operators that move values without changing them: Flatten, Reshape (and Squeeze/Unsqueeze,
// imported as Reshape), Identity, Dropout (inference: the identity), Transpose, Slice and Split
// (imported as Slices). They keep their input's codes; a format change is a requantize.
#include <numeric>

#include "export/qdq_writer.h"
#include "kernels/fast/fast_builder.h"
#include "onnx/fold.h"
#include "onnx/import_rules.h"
#include "ops/common.h"

namespace gammaq::ops {
namespace {

using onnx_import::NodeIo;

// Identity or Dropout of a constant is that constant.
bool fold_constant(NodeIo& io) {
  const Value& v = io.value(0);
  if (!v.is_constant) return false;
  Tensor t = v.data;
  io.ctx.add_constant(io.n.output(0), std::move(t));
  return true;
}

Imported import_identity(NodeIo& io, Node& node) {
  if (fold_constant(io)) return Imported::Folded;
  node.inputs = {io.activation(0)};
  return Imported::Node;
}

Imported import_dropout(NodeIo& io, Node& node) {
  if (fold_constant(io)) return Imported::Folded;
  node.inputs = {io.activation(0)};
  if (io.has_input(2)) {
    const Value& tm = io.value(2);
    if (!tm.is_constant || (tm.data.numel() == 1 && tm.data.data[0] != 0.0f))
      io.a.unsupported("training_mode must be a constant false");
  }
  io.single_output();
  return Imported::Node;
}

Imported import_flatten(NodeIo& io, Node& node) {
  node.inputs = {io.activation(0)};
  const int64_t rank = static_cast<int64_t>(io.shape_of(node.inputs[0]).size());
  int64_t& axis = node.attrs.axis;
  axis = io.a.i("axis", 1);
  if (axis < 0) axis += rank;
  if (axis != 1) io.a.unsupported("only axis=1 (the batch stays dimension 0)");
  return Imported::Node;
}

int flatten_rank(const onnx_import::RankIo&) { return 2; }

Imported import_reshape(NodeIo& io, Node& node) {
  node.inputs = {io.activation(0)};
  const Value& s = io.value(1);
  if (!s.is_constant) io.a.unsupported("the target shape must be a constant");
  // 1 is the batch of a model exported for one image, and what a folded Shape -> Gather gives.
  if (s.data.numel() < 1 || (s.data.data[0] != 0 && s.data.data[0] != -1 && s.data.data[0] != 1))
    io.a.unsupported("the target shape must keep the batch: its first entry must be 0, -1 or 1");
  return Imported::Node;
}

// The axes of Squeeze/Unsqueeze: the input (opset 13+) or the attribute; never the batch.
std::vector<int64_t> squeeze_axes(NodeIo& io, int64_t out_rank) {
  std::vector<int64_t> axes;
  if (io.ctx.g.opset >= 13) {
    if (io.has_input(1)) {
      const Value& v = io.value(1);
      if (!v.is_constant) io.a.unsupported("axes must be a constant");
      for (float a : v.data.data) axes.push_back(static_cast<int64_t>(a));
    }
  } else {
    axes = io.a.ints("axes", {});
  }
  for (int64_t& a : axes) {
    if (a < -out_rank || a >= out_rank) io.invalid(str_cat("axis ", a, " is out of range"));
    if (a < 0) a += out_rank;
    if (a == 0) io.a.unsupported("axis 0 is the batch");
  }
  return axes;
}

Imported import_squeeze(NodeIo& io, Node& node) {
  node.inputs = {io.activation(0)};
  const int64_t rank = static_cast<int64_t>(io.shape_of(node.inputs[0]).size());
  const bool unsqueeze = io.op == OpType::Unsqueeze;
  const std::vector<int64_t> axes = squeeze_axes(io, unsqueeze ? rank + 1 : rank);
  if (!unsqueeze && axes.empty() && io.shape_of(node.inputs[0])[0] == 1)
    io.a.unsupported("Squeeze without axes would drop the batch");
  node.op = OpType::Reshape;
  return Imported::Node;
}

// Squeeze/Unsqueeze rank: the input's, less or more the axes (when they are known).
int squeeze_rank(const onnx_import::RankIo& r) {
  const int r0 = r.in_rank(0);
  std::optional<size_t> count;
  if (r.n.input_size() > 1) {
    auto it = r.values.find(r.n.input(1));
    if (it != r.values.end()) count = it->second.size();
  } else {
    for (const auto& a : r.n.attribute())
      if (a.name() == "axes") count = static_cast<size_t>(a.ints_size());
  }
  if (r0 < 0 || !count) return -1;
  return r.n.op_type() == "Unsqueeze" ? r0 + static_cast<int>(*count)
                                      : r0 - static_cast<int>(*count);
}

Imported import_transpose(NodeIo& io, Node& node) {
  node.inputs = {io.activation(0)};
  const int64_t rank = static_cast<int64_t>(io.shape_of(node.inputs[0]).size());
  std::vector<int64_t> perm(static_cast<size_t>(rank));
  for (int64_t k = 0; k < rank; ++k) perm[static_cast<size_t>(k)] = rank - 1 - k;
  perm = io.a.ints("perm", perm);
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  if (static_cast<int64_t>(perm.size()) != rank) io.a.fail("perm", "does not match the input rank");
  for (int64_t p : perm) {
    if (p < 0 || p >= rank || seen[static_cast<size_t>(p)])
      io.a.fail("perm", "is not a permutation");
    seen[static_cast<size_t>(p)] = true;
  }
  if (perm[0] != 0) io.a.unsupported("perm moves the batch (axis 0)");
  node.attrs.perm = std::move(perm);
  return Imported::Node;
}

// Before shape inference: perm must be a permutation of the input's axes (libonnx infers a
// rank-3 output from a 3-entry perm of a rank-4 input, and its Conv inference then reads out
// of bounds; found by tests/fuzz/onnx_fuzz.cc).
int transpose_rank(const onnx_import::RankIo& r) {
  const int rank = r.in_rank(0);
  for (const auto& a : r.n.attribute()) {
    if (a.name() != "perm") continue;
    std::vector<bool> seen(static_cast<size_t>(std::max(rank, 0)), false);
    bool ok = rank >= 0 && a.ints_size() == rank;
    for (int k = 0; ok && k < a.ints_size(); ++k) {
      const int64_t p = a.ints(k);
      ok = p >= 0 && p < rank && !seen[static_cast<size_t>(p)];
      if (ok) seen[static_cast<size_t>(p)] = true;
    }
    if (!ok)
      throw Error(ErrorKind::InvalidModel,
                  str_cat(r.label, ": attribute 'perm' is not a permutation of the ", rank,
                          " axes of its input"));
  }
  return rank;
}

void check_transpose(const NodeIo& io, Node& node, const Shape& out) {
  const Shape& x = io.shape_of(node.inputs[0]);
  Shape want;
  for (int64_t p : node.attrs.perm) want.push_back(x[static_cast<size_t>(p)]);
  if (want != out)
    io.invalid(
        str_cat("output shape ", shape_str(out), ", the permutation gives ", shape_str(want)));
}

void transpose_reference(const Node& n, std::span<const Tensor* const> in, Tensor& y) {
  kernels::transpose_f32_ref(in[0]->shape, n.attrs.perm, in[0]->data.data(), y.data.data());
}

// oneDNN reorder from a strided view of the input (its strides permuted) to the plain output.
bool transpose_fast(kernels::FastGraphImpl& b, const Node& n) {
  using namespace kernels;
  const int x = n.inputs[0], y = n.outputs[0];
  const Shape xs = b.batch_shape(x), ys = b.batch_shape(y);
  if (xs.size() > 6) return false;
  std::vector<int64_t> xst(xs.size(), 1);
  for (size_t k = xs.size(); k-- > 1;) xst[k - 1] = xst[k] * xs[k];
  memory::dims strides;
  for (int64_t p : n.attrs.perm) strides.push_back(xst[static_cast<size_t>(p)]);
  b.add_view_copy(x, memory::desc(dims_of(ys), dt::f32, strides), y);
  return true;
}

QdqTail transpose_qdq(QdqWriter& w, const Node& n, const std::string& y) {
  QdqWriter::attr(w.node("Transpose", n.name, {w.input(n.inputs[0])}, y), "perm", n.attrs.perm);
  return QdqTail::Finish;
}

// Slice (opset 10+: starts/ends/axes/steps inputs; 7-9: attributes) on non-batch axes.
Imported import_slice(NodeIo& io, Node& node) {
  node.inputs = {io.activation(0)};
  const Shape& x = io.shape_of(node.inputs[0]);
  const int64_t rank = static_cast<int64_t>(x.size());
  auto ints = [&](int k, const char* attr) -> std::optional<std::vector<int64_t>> {
    if (io.ctx.g.opset < 10) {
      if (!io.a.find(attr)) return std::nullopt;
      return io.a.ints(attr, {});
    }
    if (!io.has_input(k)) return std::nullopt;
    const Value& v = io.value(k);
    if (!v.is_constant) io.a.unsupported(str_cat(attr, " must be constants"));
    std::vector<int64_t> out;
    for (float f : v.data.data)
      out.push_back(f >= 9.2e18f ? INT64_MAX : f <= -9.2e18f ? INT64_MIN : static_cast<int64_t>(f));
    return out;
  };
  const auto starts = ints(1, "starts"), ends = ints(2, "ends");
  const auto axes = ints(3, "axes"), steps = ints(4, "steps");
  if (!starts || !ends || starts->size() != ends->size())
    io.invalid("starts and ends differ in length");
  if ((axes && axes->size() != starts->size()) || (steps && steps->size() != starts->size()))
    io.invalid("axes or steps differ in length from starts");
  Attributes& a = node.attrs;
  a.starts.assign(static_cast<size_t>(rank), 0);
  a.steps.assign(static_cast<size_t>(rank), 1);
  a.reshape = x;
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  for (size_t i = 0; i < starts->size(); ++i) {
    int64_t axis = axes ? (*axes)[i] : static_cast<int64_t>(i);
    if (axis < -rank || axis >= rank) io.invalid(str_cat("axis ", axis, " is out of range"));
    if (axis < 0) axis += rank;
    if (seen[static_cast<size_t>(axis)]) io.invalid(str_cat("axis ", axis, " is repeated"));
    seen[static_cast<size_t>(axis)] = true;
    const int64_t step = steps ? (*steps)[i] : 1;
    if (step == 0) io.invalid("a step is 0");
    const auto [first, count] =
        onnx_import::slice_range((*starts)[i], (*ends)[i], step, x[static_cast<size_t>(axis)]);
    if (axis == 0) {
      if (first != 0 || count != 1 || step != 1) io.a.unsupported("slicing the batch (axis 0)");
      continue;
    }
    a.starts[static_cast<size_t>(axis)] = first;
    a.steps[static_cast<size_t>(axis)] = step;
    a.reshape[static_cast<size_t>(axis)] = count;
  }
  return Imported::Node;
}

void check_slice(const NodeIo& io, Node& node, const Shape& out) {
  if (node.attrs.reshape != out)
    io.invalid(str_cat("output shape ", shape_str(out), ", the slice gives ",
                       shape_str(node.attrs.reshape)));
  for (int64_t d : out)
    if (d < 1) io.a.unsupported("an empty slice");
}

// Split (split sizes from the attribute before opset 13, the input after; equal parts when
// absent) as one Slice per output.
Imported import_split(NodeIo& io, Node& node) {
  const int x = io.activation(0);
  const Shape xs = io.shape_of(x);  // a copy: emit() grows the values
  const int64_t rank = static_cast<int64_t>(xs.size());
  int64_t axis = io.a.i("axis", 0);
  if (axis < -rank || axis >= rank) io.a.fail("axis", "is out of range");
  if (axis < 0) axis += rank;
  if (axis == 0) io.a.unsupported("splitting the batch (axis 0)");
  std::vector<int64_t> split;
  if (io.ctx.g.opset >= 13) {
    if (io.has_input(1)) {
      const Value& v = io.value(1);
      if (!v.is_constant) io.a.unsupported("split must be a constant");
      for (float f : v.data.data) split.push_back(static_cast<int64_t>(f));
    }
  } else {
    split = io.a.ints("split", {});
  }
  const int outputs = io.n.output_size();
  const int64_t dim = xs[static_cast<size_t>(axis)];
  if (split.empty()) {
    if (outputs < 1 || dim % outputs != 0)
      io.invalid(str_cat("axis size ", dim, " does not split into ", outputs, " equal parts"));
    split.assign(static_cast<size_t>(outputs), dim / outputs);
  }
  if (static_cast<int>(split.size()) != outputs)
    io.invalid(str_cat(split.size(), " split sizes for ", outputs, " outputs"));
  if (std::accumulate(split.begin(), split.end(), int64_t{0}) != dim)
    io.invalid(str_cat("split sizes do not add up to the axis size ", dim));
  int64_t first = 0;
  for (int k = 0; k < outputs; ++k) {
    const int64_t size = split[static_cast<size_t>(k)];
    if (size < 1) io.a.unsupported("an empty split");
    if (!io.n.output(k).empty()) {
      Node s;
      s.name = k == 0 ? node.name : str_cat(node.name, ":", k);
      s.op = OpType::Slice;
      s.inputs = {x};
      s.attrs.starts.assign(static_cast<size_t>(rank), 0);
      s.attrs.steps.assign(static_cast<size_t>(rank), 1);
      s.attrs.starts[static_cast<size_t>(axis)] = first;
      s.attrs.reshape = xs;
      s.attrs.reshape[static_cast<size_t>(axis)] = size;
      const Shape out = io.inferred(k);
      check_slice(io, s, out);
      io.emit(std::move(s), io.n.output(k), out);
    }
    first += size;
  }
  return Imported::Emitted;
}

int split_rank(const onnx_import::RankIo& r) { return r.in_rank(0); }

void slice_reference(const Node& n, std::span<const Tensor* const> in, Tensor& y) {
  kernels::slice_f32_ref(in[0]->shape, n.attrs.starts, n.attrs.steps, y.shape, in[0]->data.data(),
                         y.data.data());
}

// Unit steps: oneDNN reorder from a sub-memory view of the plain input.
bool slice_fast(kernels::FastGraphImpl& b, const Node& n) {
  using namespace kernels;
  for (int64_t s : n.attrs.steps)
    if (s != 1) return false;
  const int x = n.inputs[0], y = n.outputs[0];
  const Shape xs = b.batch_shape(x), ys = b.batch_shape(y);
  if (xs.size() > 6) return false;
  b.add_view_copy(x,
                  plain_md(xs).submemory_desc(
                      dims_of(ys), memory::dims(n.attrs.starts.begin(), n.attrs.starts.end())),
                  y);
  return true;
}

// ONNX Slice over every axis (the batch from 0 to the end).
QdqTail slice_qdq(QdqWriter& w, const Node& n, const std::string& y) {
  std::vector<int64_t> starts = n.attrs.starts, ends, axes, steps = n.attrs.steps;
  for (size_t k = 0; k < starts.size(); ++k) {
    axes.push_back(static_cast<int64_t>(k));
    const int64_t count = n.attrs.reshape[k];
    const int64_t last = starts[k] + (count - 1) * steps[k];
    ends.push_back(k == 0         ? INT64_MAX
                   : steps[k] > 0 ? last + 1
                                  : (last - 1 < 0 ? INT64_MIN : last - 1));
  }
  const std::string& dst = w.name_of_[static_cast<size_t>(n.outputs[0])];
  w.node("Slice", n.name,
         {w.input(n.inputs[0]), w.int64s(dst + "/starts", starts), w.int64s(dst + "/ends", ends),
          w.int64s(dst + "/axes", axes), w.int64s(dst + "/steps", steps)},
         y);
  return QdqTail::Finish;
}

// The rank of a Reshape is its target's length when the target is a known 1-D constant.
int reshape_rank(const onnx_import::RankIo& r) {
  auto it = r.n.input_size() > 1 ? r.length.find(r.n.input(1)) : r.length.end();
  return it != r.length.end() && it->second <= 8 ? static_cast<int>(it->second) : -1;
}

// The target, as shape inference resolved it (0 and -1 entries), recorded for batch 1.
void reshape_shape(const NodeIo& io, Node& node, const Shape& out) {
  onnx_import::check_same_numel(io, node, out);
  node.attrs.reshape = out;
}

void copy_reference(const Node&, std::span<const Tensor* const> in, Tensor& y) {
  std::copy(in[0]->data.begin(), in[0]->data.end(), y.data.begin());  // same elements, new shape
}

QdqTail identity_qdq(QdqWriter& w, const Node& n, const std::string& y) {
  w.node("Identity", n.name, {w.input(n.inputs[0])}, y);
  return QdqTail::Finish;
}

QdqTail reshape_qdq(QdqWriter& w, const Node& n, const std::string& y) {
  std::vector<int64_t> shape(n.attrs.reshape.begin(), n.attrs.reshape.end());
  shape[0] = -1;  // the batch, whatever it is (gammaq records the target for batch 1)
  const std::string& dst = w.name_of_[static_cast<size_t>(n.outputs[0])];
  w.node("Reshape", n.name, {w.input(n.inputs[0]), w.int64s(dst + "/shape", shape)}, y);
  return QdqTail::Finish;
}

}  // namespace

namespace defs {

const OpDef Flatten{.op = OpType::Flatten,
                    .import = import_flatten,
                    .check_shape = onnx_import::check_same_numel,
                    .rank = flatten_rank,
                    .reference = copy_reference,
                    .nonnegative = nonnegative_if_input,
                    .integer_plan = plan_requantize,
                    .qdq = axis_qdq,
                    .data_movement = true};

const OpDef Reshape{.op = OpType::Reshape,
                    .import = import_reshape,
                    .check_shape = reshape_shape,
                    .rank = reshape_rank,
                    .reference = copy_reference,
                    .nonnegative = nonnegative_if_input,
                    .integer_plan = plan_requantize,
                    .qdq = reshape_qdq,
                    .data_movement = true};

const OpDef Squeeze{.op = OpType::Squeeze,
                    .import = import_squeeze,
                    .check_shape = reshape_shape,
                    .rank = squeeze_rank};

const OpDef Unsqueeze{.op = OpType::Unsqueeze,
                      .import = import_squeeze,
                      .check_shape = reshape_shape,
                      .rank = squeeze_rank};

const OpDef Transpose{.op = OpType::Transpose,
                      .import = import_transpose,
                      .check_shape = check_transpose,
                      .rank = transpose_rank,
                      .reference = transpose_reference,
                      .nonnegative = nonnegative_if_input,
                      .fast = transpose_fast,
                      .no_integer = "no integer form yet",
                      .qdq = transpose_qdq};

const OpDef Slice{.op = OpType::Slice,
                  .import = import_slice,
                  .check_shape = check_slice,
                  .reference = slice_reference,
                  .nonnegative = nonnegative_if_input,
                  .fast = slice_fast,
                  .no_integer = "no integer form yet",
                  .qdq = slice_qdq};

const OpDef Split{.op = OpType::Split, .import = import_split, .rank = split_rank};

const OpDef Identity{.op = OpType::Identity,
                     .import = import_identity,
                     .check_shape = onnx_import::check_same_numel,
                     .reference = copy_reference,
                     .nonnegative = nonnegative_if_input,
                     .integer_plan = plan_requantize,
                     .qdq = identity_qdq,
                     .data_movement = true};

const OpDef Dropout{.op = OpType::Dropout,
                    .import = import_dropout,
                    .check_shape = onnx_import::check_same_numel,
                    .reference = copy_reference,
                    .nonnegative = nonnegative_if_input,
                    .integer_plan = plan_requantize,
                    .qdq = identity_qdq,
                    .data_movement = true};

}  // namespace defs
}  // namespace gammaq::ops
