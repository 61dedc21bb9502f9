// Graph: gammaq's intermediate representation of a CNN (DESIGN.md "The pipeline").
//
// A Graph is a list of Values (tensors: the model input, constants such as weights, and
// activations) and a topologically sorted list of Nodes. Activation shapes are recorded for
// a batch of one (dimension 0 is the batch); the executor scales dimension 0 to its batch.
// Constants have no batch dimension.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gammaq/tensor.h"

namespace gammaq {

enum class OpType {
#define GAMMAQ_OP(e, name) e,
#include "gammaq/ops.inc"
#undef GAMMAQ_OP
};

[[nodiscard]] std::string_view op_name(OpType op) noexcept;
// ONNX op_type -> OpType; nullopt when gammaq does not support it.
[[nodiscard]] std::optional<OpType> op_from_onnx(std::string_view onnx_name) noexcept;

// Activation fused into a producing node (Conv, Gemm, Add) by the fuse_activations pass.
enum class Activation { None, Relu, Clip, LeakyRelu, Sigmoid };

// Attributes of every supported operator, parsed and validated by the importer.
// Spatial vectors have one entry per spatial dimension (2 for images); pads are
// [begin_h, begin_w, end_h, end_w] as in ONNX.
struct Attributes {
  std::vector<int64_t> kernel;     // Conv (from the weight), MaxPool, AveragePool
  std::vector<int64_t> strides;    // Conv, pools
  std::vector<int64_t> pads;       // Conv, pools, Pad (ONNX order: begins then ends, all axes)
  std::vector<int64_t> dilations;  // Conv, MaxPool
  int64_t group = 1;               // Conv
  bool count_include_pad = false;  // AveragePool
  bool ceil_mode = false;          // pools
  int64_t axis = 1;                // Concat, Flatten, Softmax
  bool flatten_tail = false;       // Softmax before opset 13: over every axis from `axis` on
  float alpha = 1.0f;              // Gemm, LeakyRelu, LRN, HardSigmoid, HardSwish, Elu
  float beta = 1.0f;               // Gemm, LRN, HardSigmoid, HardSwish
  bool reversed = false;           // Sub, Div: the constant operand comes first (c - x, c / x)
  float bias = 1.0f;               // LRN
  int64_t size = 1;                // LRN
  bool trans_a = false, trans_b = false;                      // Gemm
  float epsilon = 1e-5f;                                      // BatchNormalization
  float clip_min = -3.4028235e38f, clip_max = 3.4028235e38f;  // Clip
  float pad_value = 0.0f;                                     // Pad (constant mode)
  int pad_mode = 0;  // Pad: 0 constant, 1 reflect, 2 edge (kPadConstant, kPadReflect, kPadEdge)
  Shape reshape;     // Reshape target (batch 1)
  std::vector<int64_t> perm;           // Transpose
  std::vector<int64_t> starts, steps;  // Slice: per input axis, the first index and the step
  // Fused activation (set by fuse_activations); its parameters reuse clip_min/clip_max and
  // act_alpha.
  Activation activation = Activation::None;
  float act_alpha = 0.01f, act_min = 0.0f, act_max = 0.0f;
};

inline constexpr int kPadConstant = 0, kPadReflect = 1, kPadEdge = 2;

struct Node {
  std::string name;  // ONNX node name, or "<op_type>#<index>" when the model left it empty
  OpType op = OpType::Identity;
  std::vector<int> inputs;   // value ids; constants (weights, biases) included
  std::vector<int> outputs;  // value ids
  Attributes attrs;
};

struct Value {
  std::string name;
  Shape shape;  // activations: batch-1 shape; constants: their shape
  bool is_constant = false;
  Tensor data;        // constants only
  int producer = -1;  // node index, -1 for the graph input and constants
};

struct Graph {
  std::string name;  // model file stem or graph name
  std::vector<Value> values;
  std::vector<Node> nodes;                      // topological order
  int input = -1;                               // the image input value
  int output = -1;                              // the logits value
  int64_t opset = 0;                            // default-domain opset of the model
  std::map<std::string, std::string> metadata;  // ONNX metadata_props

  // Index of the value named `name`, or -1.
  [[nodiscard]] int find_value(std::string_view name) const;
  // Adds a value and returns its id.
  int add_value(Value v);
};

// Multiply-accumulates of one image through `node` (Conv/Gemm/MatMul; 0 for others).
[[nodiscard]] int64_t node_macs(const Graph& g, const Node& node);
// Number of constant parameters (weights and biases) read by the nodes.
[[nodiscard]] int64_t graph_parameter_count(const Graph& g);

// Nodes (flags in graph order) that read value `value` directly or through other nodes: what
// must be recomputed when `value` changes. Requires topological node order.
[[nodiscard]] std::vector<bool> nodes_downstream_of(const Graph& g, int value);

// Checks the invariants the executor relies on (topological order, arities, shapes of
// weights against attributes, every value produced once). Throws InternalError on a
// violation: the importer and passes must never produce such a graph.
void validate(const Graph& g);

}  // namespace gammaq
