// Internal to src/onnx: state shared by the importer and the per-node mapping.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>
#include <unordered_map>
#include <unordered_set>

#include "gammaq/error.h"
#include "gammaq/graph.h"

namespace gammaq::onnx_import {

struct Context {
  Graph g;
  std::unordered_map<std::string, int> by_name;   // value name -> id
  std::unordered_map<std::string, Shape> shapes;  // batch-1 shapes from ONNX shape inference
  std::unordered_set<std::string> consumed;       // names read by a node or a graph output

  // Id of the value named `name`; Error(InvalidModel) naming `what` when undefined.
  int lookup(const std::string& name, std::string_view what) const;
  int add_constant(const std::string& name, Tensor t);
  // A constant gammaq derived (e.g. a transposed weight): not reachable by name from the model.
  int add_internal_constant(const std::string& name, Tensor t);
  int add_activation(const std::string& name, Shape shape, int producer);
};

// "node 'conv1' (Conv, #3)"
[[nodiscard]] std::string node_label(const onnx::NodeProto& n, int index);

// Converts an initializer/Constant tensor (float, double, int64, int32 -> float data).
// Checks the byte count against the declared shape before allocating and rejects NaN/Inf
// in float data unless keep_nonfinite: initializers and Constant values keep them and are
// checked where they are used, so the error names the node (weights: NodeIo::weight; Clip
// bounds may be infinite but not NaN).
[[nodiscard]] Tensor tensor_from_proto(const onnx::TensorProto& t, bool keep_nonfinite = false);

// Maps one node into ctx.g (appends a Node and its output values, or folds it).
void import_node(Context& ctx, const onnx::NodeProto& n, int index);

}  // namespace gammaq::onnx_import
