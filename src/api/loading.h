// Loading what a command or a library call starts from -- a model file, a dataset for it, a
// quant.json for it -- with the checks and error context both the CLI (tools/gammaq) and the
// public facade (gammaq/model.h) apply. Internal: not installed.
#pragma once

#include <string>
#include <string_view>

#include "gammaq/dataset.h"
#include "gammaq/graph.h"
#include "ir/passes.h"
#include "quant/plan.h"

namespace gammaq {

// Imports the ONNX model at `path` (with `options`: --input-shape, --outputs) and runs the
// graph passes (ir/passes.h optimize); errors carry the path. `passes`, when given, receives
// what the passes did.
[[nodiscard]] Graph load_model_graph(const std::string& path, PassReport* passes = nullptr,
                                     const ImportOptions& options = {});

// FNV-1a 64 of the file's bytes, hex: recorded in quant.json so a plan is never applied to a
// different model file. Error(Io) when the file cannot be read.
[[nodiscard]] std::string file_fingerprint(const std::string& path);

// Preprocessing of raw images for g: its metadata "gammaq.preprocess" when present (errors
// name the model and the key), else the defaults with channels and size from the input shape.
[[nodiscard]] Preprocess model_preprocess(const Graph& g);

// Checks that `data` (named `what` in messages: a spec, or "calibration data") holds at least
// one image, of the shape of g's input, and labels when `labelled`. Error(InvalidData).
void check_data_fits(const Dataset& data, const Graph& g, std::string_view what, bool labelled);

// Reads the quant.json at `quant_path` and checks it was made for the model file whose
// fingerprint is `model_fingerprint` (at `model_path`, for the message) and fits g; errors
// name the quant.json.
// The plan must also have been made on the model imported as `import` says (--input-shape,
// --outputs); Error(InvalidOption) otherwise.
[[nodiscard]] quant::QuantPlan read_plan_file(const std::string& quant_path, const Graph& g,
                                              const std::string& model_path,
                                              const std::string& model_fingerprint,
                                              const ImportOptions& import = {});
// read_plan_file in two steps, for a caller that needs the plan's import options before it
// imports the model: the parsed quant.json, then the checks against that model.
[[nodiscard]] quant::QuantPlan read_plan_json(const std::string& quant_path);
void check_plan_for(const quant::QuantPlan& plan, const std::string& quant_path, const Graph& g,
                    const std::string& model_path, const std::string& model_fingerprint,
                    const ImportOptions& import);

}  // namespace gammaq
