// Internal to the importer and the operators' import hooks (src/ops/op.h): reading one ONNX
// node's attributes and inputs, with every error naming the node.
#pragma once

#include <onnx/onnx_pb.h>

#include <cmath>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "onnx/import_context.h"

namespace gammaq::onnx_import {

// Bounds on window attributes and tensor sizes: far above any CNN, small enough that no
// index arithmetic overflows int64.
inline constexpr int64_t kMaxWindow = int64_t{1} << 20;
inline constexpr int64_t kMaxElements = int64_t{1} << 31;

// Reads attributes of one node; every error names the node and the attribute.
class Attrs {
 public:
  Attrs(const onnx::NodeProto& n, std::string label) : n_(n), label_(std::move(label)) {}

  [[nodiscard]] const onnx::AttributeProto* find(std::string_view name) const;
  [[nodiscard]] int64_t i(std::string_view name, int64_t def) const;
  [[nodiscard]] float f(std::string_view name, float def) const;
  [[nodiscard]] std::string s(std::string_view name, std::string def) const;
  [[nodiscard]] std::vector<int64_t> ints(std::string_view name, std::vector<int64_t> def) const;
  [[noreturn]] void fail(std::string_view name, std::string_view rule) const;
  [[noreturn]] void unsupported(std::string_view what) const;

 private:
  const onnx::NodeProto& n_;
  std::string label_;
};

// One node being imported: its inputs as gammaq values, its attributes, its label.
struct NodeIo {
  Context& ctx;
  const onnx::NodeProto& n;
  std::string label;  // "node 'conv1' (Conv, #3)"
  Attrs a;
  OpType op;  // the operator the node's op_type maps to (an import hook may canonicalise it)

  [[nodiscard]] bool has_input(int k) const { return k < n.input_size() && !n.input(k).empty(); }
  // Id of input k; Error(InvalidModel) when it is missing or undefined.
  [[nodiscard]] int input(int k) const;
  [[nodiscard]] const Value& value(int k) const { return ctx.g.values[input(k)]; }
  // A constant input used as a weight: must be an initializer (or Constant) and finite.
  [[nodiscard]] int weight(int k, std::string_view role) const;
  // An activation input (computed from the image input).
  [[nodiscard]] int activation(int k) const;
  // A constant scalar input (Clip's min/max, Pad's value): its value (NaN is the caller's to
  // refuse).
  [[nodiscard]] float scalar(int k, std::string_view role) const;
  // Outputs beyond the first must be unused optional outputs.
  void single_output() const;
  [[nodiscard]] bool used(const std::string& name) const { return ctx.consumed.count(name) > 0; }
  [[nodiscard]] const Shape& shape_of(int id) const { return ctx.g.values[id].shape; }
  // The shape ONNX shape inference gave output k, checked to keep the batch and stay bounded.
  [[nodiscard]] Shape inferred(int k) const;
  // Appends `node` (inputs and attributes set) writing a new activation `name` of `shape`;
  // returns the value's id. For hooks that import one ONNX node as several (Imported::Emitted).
  int emit(Node node, const std::string& name, Shape shape) const;
  [[noreturn]] void invalid(std::string_view what) const;  // Error(InvalidModel) naming the node
};

// Ranks of the inputs of one node, before ONNX shape inference (onnx/import.cc check_ranks).
struct RankIo {
  const onnx::NodeProto& n;
  std::string label;
  std::function<int(int)> in_rank;  // -1 for a missing optional input
  // Element counts of 1-D constants known so far (Reshape's target); a rank hook may add one.
  std::unordered_map<std::string, int64_t>& length;
  // Values of small integer constants (at most 64 elements, rank <= 1): axes, Slice bounds.
  const std::unordered_map<std::string, std::vector<int64_t>>& values;
};

// Requires input 0 to be an NCHW image (rank 4); the output rank is 4.
int image_rank(const RankIo& r);

// Window attributes (strides, dilations, explicit or auto pads) of a 2-D Conv/pool whose
// input has shape x; at.kernel must be set.
void window_attrs(const Attrs& a, const Shape& x, Attributes& at, bool with_dilations);
std::vector<int64_t> positive_ints(const Attrs& a, std::string_view name, std::vector<int64_t> def,
                                   size_t count);
// Numpy broadcasting of the node's operands to the inferred output shape without touching the
// batch dimension (constants have at most that rank and, at equal rank, size 1 in the batch).
void check_broadcast(const NodeIo& io, Node& node, const Shape& out);
// The output shape must hold as many elements as input 0 (Reshape, Flatten, Identity).
void check_same_numel(const NodeIo& io, Node& node, const Shape& out);

}  // namespace gammaq::onnx_import
