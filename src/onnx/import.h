// ONNX -> Graph import (opsets 7-21).
#pragma once

#include <string>

#include "gammaq/graph.h"

namespace gammaq {

// Reads and imports the ONNX model at `path`: protobuf parse (size-limited), the ONNX checker,
// ONNX shape inference with the batch dimension fixed to 1, then every node is mapped to an
// OpType with validated attributes; Identity/Constant nodes on constants are folded.
// Throws Error(Io) when the file cannot be read, Error(InvalidModel) for a malformed model
// (message names the node, attribute or initializer), Error(UnsupportedOp) naming node,
// op type and opset for an operator or attribute value gammaq does not implement.
// Messages do not include the path; callers add it with with_context().
// Error(InvalidOption) names --input-shape or --outputs when they do not fit the model.
[[nodiscard]] Graph import_onnx_file(const std::string& path, const ImportOptions& options = {});
// Same, from bytes in memory (used by the fuzzer and tests).
[[nodiscard]] Graph import_onnx_bytes(const std::string& bytes, const std::string& name,
                                      const ImportOptions& options = {});

}  // namespace gammaq
