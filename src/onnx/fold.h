// Internal to src/onnx: shape arithmetic folded to constants before import.
//
// Exporters compute Reshape targets, Slice bounds and Resize sizes at run time from the
// activations' shapes (Shape -> Gather -> Unsqueeze -> Concat -> Reshape, Div/Cast of a
// dimension, ConstantOfShape): torch writes it for every dynamic-batch model, paddle2onnx for
// every Flatten. With the image input's shape fixed, all of it is constant. fold_constants
// evaluates it (exactly, in the tensors' own element types: int64 division truncates) and
// replaces it by initializers, so that the operators gammaq imports see constant targets.
// What does not fold (a Gather of an activation, a shape ONNX shape inference cannot give) is
// left in the graph and refused at import, naming the node.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "onnx/import_rules.h"

namespace gammaq::onnx_import {

// Static shapes of tensors (batch fixed to 1), from ONNX shape inference.
using StaticShapes = std::unordered_map<std::string, std::vector<int64_t>>;

// ONNX Slice on one axis of size `dim`: the first index and the element count, with the
// spec's clamping of out-of-range starts and ends (step != 0).
[[nodiscard]] std::pair<int64_t, int64_t> slice_range(int64_t start, int64_t end, int64_t step,
                                                      int64_t dim);

// Whether `op_type` (default domain) is shape arithmetic the folder evaluates; such a node
// is imported only when it folds.
[[nodiscard]] bool is_foldable(std::string_view op_type) noexcept;

// Output rank of a foldable node before shape inference (onnx/import.cc check_ranks): -1 when
// it depends on values not known yet. Records the length of 1-D outputs it can tell (a Reshape
// target's rank is its length).
[[nodiscard]] int fold_rank(const RankIo& r);

// Replaces every node of `g` whose operator is foldable and whose inputs are all constants
// (initializers, or the shape of a tensor `shapes` knows) by an initializer, repeatedly along
// the graph; unused initializers it leaves are removed with the nodes. Returns the number of
// nodes folded. Errors (a malformed Slice, a Gather index out of range) name the node.
// `origin` (one entry per node of g) maps each node to its index in the model file; it is
// updated to the nodes that remain, so that errors keep naming nodes by their file index.
int fold_constants(onnx::GraphProto& g, int64_t opset, const StaticShapes& shapes,
                   std::vector<int>& origin);

}  // namespace gammaq::onnx_import
