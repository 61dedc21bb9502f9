// One home per operator (docs/adding-an-operator.md): everything gammaq knows about an
// operator -- how it is imported from ONNX, the shape rule it checks, its reference kernel
// (the definition), where the fixed-point simulation rounds it, its oneDNN lowering, its
// integer form and its QDQ export -- is one OpDef, defined in src/ops/<family>.cc.
//
// The drivers (the ONNX importer, the reference and simulated executors, FastGraph, the
// integer program, the exports and the passes) hold no per-operator switch: they look the
// operator up here and call its hooks. A hook left null means "the generic behaviour" where
// one exists (documented per hook) and "not available" otherwise.
//
// Hook contexts are declared by the driver that owns them (the headers named below); this
// header forward-declares them, so that it stays light for every layer.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <span>
#include <string>
#include <vector>

#include "gammaq/graph.h"

namespace gammaq {
struct IntegerNode;
class IntegerPlanner;  // engine/integer_ops.h
struct IntegerStep;    // engine/integer_ops.h
class QdqWriter;       // export/qdq_writer.h
namespace onnx_import {
struct NodeIo;  // onnx/import_rules.h
struct RankIo;  // onnx/import_rules.h
}  // namespace onnx_import
namespace kernels {
struct OutputQuant;    // kernels/kernels.h
struct FastGraphImpl;  // kernels/fast/fast_builder.h
}  // namespace kernels

namespace ops {

// What an import hook did with the ONNX node.
enum class Imported {
  Node,     // filled `node` (inputs, attributes): the importer appends it
  Folded,   // replaced the node's output by a constant (Constant, Identity of a constant)
  Emitted,  // appended its nodes itself (NodeIo::emit): Split's Slices, ReduceMean's pool
};

// What the QDQ driver does after a qdq hook wrote the operator.
enum class QdqTail {
  Finish,       // the operator wrote its raw output: apply the fused activation and quantize
  FinishPlain,  // as Finish, but the node's own activation is the operator (Sigmoid): quantize
  Done,         // the hook wrote the output value itself
};

struct OpDef {
  OpType op = OpType::Identity;

  // ---- ONNX import (onnx/import_rules.h). `import` parses and validates the node's inputs
  // and attributes into `node` (required). `check_shape` (optional) checks the output shape
  // ONNX shape inference gave (the ground truth) against the operator's own rule, and may
  // record it. `rank` (optional; default: the rank of input 0) is the output rank, computed
  // before shape inference runs so that inputs shape inference cannot take are refused first.
  Imported (*import)(onnx_import::NodeIo& io, Node& node) = nullptr;
  void (*check_shape)(const onnx_import::NodeIo& io, Node& node, const Shape& out) = nullptr;
  int (*rank)(const onnx_import::RankIo& r) = nullptr;

  // ---- Float semantics. `reference` (required unless the operator never survives import)
  // runs the node on plain NCHW tensors: in[k] per node input (constants included; callers may
  // substitute quantized constants), y sized to the output's batch shape.
  void (*reference)(const Node& n, std::span<const Tensor* const> in, Tensor& y) = nullptr;
  // Whether the output is >= 0 whatever the input (Relu), given whether input 0 and all
  // activation inputs are; null: only through a fused activation that guarantees it.
  bool (*nonnegative)(const Node& n, bool input0, bool all_inputs) = nullptr;

  // ---- Fixed-point simulation. Null: the operator is exact in float on gridded inputs and
  // its output is rounded after it. Set: it rounds inside (kernels.h run_node_rounded) where
  // a float result could differ from the integer engine's (accumulations, ratios).
  void (*rounded)(const Node& n, std::span<const Tensor* const> in, Tensor& y,
                  const kernels::OutputQuant& q) = nullptr;

  // ---- Fast path (kernels/fast/fast_builder.h): lowers the node to oneDNN primitives;
  // returns false (or null) to run the reference kernel on plain tensors instead.
  bool (*fast)(kernels::FastGraphImpl& b, const Node& n) = nullptr;

  // ---- Integer engine (engine/integer_ops.h). `integer_plan` computes the node's integer
  // constants and output stage; null refuses the node with `no_integer` as the reason.
  // `integer_run` runs it (null: requantize input 0's codes through the stage: data movement
  // and piecewise-linear activations).
  void (*integer_plan)(IntegerPlanner& p, const Node& n, IntegerNode& in) = nullptr;
  void (*integer_run)(IntegerStep& s) = nullptr;
  const char* no_integer = "no integer form";
  // Attributes the C/bin/vectors export writes for the node beyond the generic ones.
  void (*export_json)(const Node& n, const IntegerNode& in, nlohmann::ordered_json& e) = nullptr;

  // ---- QDQ export (export/qdq_writer.h): writes the float operator reading the node's
  // (dequantized) inputs into `y`. Null: the operator written as is with no attributes.
  QdqTail (*qdq)(QdqWriter& w, const Node& n, const std::string& y) = nullptr;

  // ---- Traits the passes and the pipeline read.
  bool weighted = false;          // Conv/Gemm: has a quantized weight (and bias): a "layer"
  bool windowed = false;          // kernel/strides/pads attributes (Conv, pools)
  bool takes_activation = false;  // a following Relu/Clip/LeakyRelu may fuse into it
  // The activation a standalone node of this operator is, when it can fuse into its producer.
  Activation fuses_as = Activation::None;
  bool data_movement = false;  // elementwise identity on values (Flatten, Reshape, Identity)
};

// The definition of `op`: a table lookup.
[[nodiscard]] const OpDef& def(OpType op) noexcept;
// The definitions, one per operator of gammaq/ops.inc, each in its family's file.
namespace defs {
#define GAMMAQ_OP(e, name) extern const OpDef e;
#include "gammaq/ops.inc"
#undef GAMMAQ_OP
}  // namespace defs

// Whether node n is a layer: it has a quantized weight (Conv, Gemm).
[[nodiscard]] inline bool is_layer(const Node& n) noexcept { return def(n.op).weighted; }

}  // namespace ops
}  // namespace gammaq
