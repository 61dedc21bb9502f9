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
  // Resize (and Upsample) of H and W: kResizeNearest/kResizeLinear, the coordinate transform
  // (kCoord*), the rounding of nearest (kNearest*), and the scale of H and W that the
  // transform divides by (the model's scales, or output/input size when it gave sizes).
  int resize_mode = 0, coord_mode = 0, nearest_mode = 0;
  std::vector<float> scales;
  // Fused activation (set by fuse_activations); its parameters reuse clip_min/clip_max and
  // act_alpha.
  Activation activation = Activation::None;
  float act_alpha = 0.01f, act_min = 0.0f, act_max = 0.0f;
};

inline constexpr int kPadConstant = 0, kPadReflect = 1, kPadEdge = 2;
inline constexpr int kResizeNearest = 0, kResizeLinear = 1;
// ONNX coordinate_transformation_mode: x_original from x_resized, scale and the lengths.
inline constexpr int kCoordHalfPixel = 0, kCoordPytorchHalfPixel = 1, kCoordAlignCorners = 2,
                     kCoordAsymmetric = 3, kCoordTfHalfPixelForNearest = 4;
// ONNX nearest_mode; before opset 11 (Upsample, Resize-10) ONNX Runtime floors when enlarging
// and ceils when shrinking, which the importer resolves to kNearestFloor or kNearestCeil.
inline constexpr int kNearestRoundPreferFloor = 0, kNearestRoundPreferCeil = 1, kNearestFloor = 2,
                     kNearestCeil = 3;

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
  std::vector<Node> nodes;  // topological order
  int input = -1;           // the image input value
  int output = -1;          // the first output (a classifier's logits)
  // The model's further outputs, in order (a detector's heads; --outputs beyond the first):
  // computed, kept and exported like `output`, which accuracy scores.
  std::vector<int> extra_outputs;
  // The model file's input is N x H x W x C and its first nodes transpose it to NCHW
  // (tf2onnx): `input` is the NCHW tensor; exports write the file's NHWC input again.
  bool nhwc_input = false;
  int64_t opset = 0;                            // default-domain opset of the model
  std::map<std::string, std::string> metadata;  // ONNX metadata_props

  // Index of the value named `name`, or -1.
  [[nodiscard]] int find_value(std::string_view name) const;
  // Adds a value and returns its id.
  int add_value(Value v);
};

// What the user fixes about an ONNX model before it is imported (--input-shape, --outputs;
// src/onnx/import.h).
struct ImportOptions {
  // N, C, H, W of the image input (NCHW also for a model whose file input is NHWC): fills
  // symbolic dimensions; a fixed dimension it contradicts is an error. N is not fixed (gammaq
  // runs any batch). Empty: the model's own shape.
  std::vector<int64_t> input_shape;
  // Tensors to end the model at (a detector before its post-processing): the graph outputs
  // become these, in this order, and the nodes no longer needed are dropped before anything
  // is checked, so operators after the cut are never read. Empty: the model's own outputs.
  std::vector<std::string> outputs;
};

// Whether value v is a graph output (`output` or one of `extra_outputs`).
[[nodiscard]] bool is_graph_output(const Graph& g, int v) noexcept;
// Every graph output: `output`, then `extra_outputs`.
[[nodiscard]] std::vector<int> graph_outputs(const Graph& g);

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
