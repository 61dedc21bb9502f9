// Shared pieces of the gammaq subcommands.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "api/loading.h"
#include "core/progress.h"
#include "engine/integer.h"
#include "gammaq/dataset.h"
#include "gammaq/evaluate.h"
#include "gammaq/graph.h"
#include "ir/passes.h"
#include "pipeline/quantize.h"
#include "quant/plan.h"

namespace gammaq::cli {

struct LoadedModel {
  std::string path;
  Graph graph;
  PassReport passes;
  ImportOptions import;  // as it was imported
};

// How every subcommand that reads a model imports it: --input-shape N,C,H,W and --outputs
// NAME[,NAME...] (ImportOptions).
struct ImportFlags {
  std::string input_shape;
  std::vector<std::string> outputs;
  void add_to(CLI::App& app);
  // The parsed options; Error(InvalidOption) naming --input-shape when it is not N,C,H,W.
  [[nodiscard]] ImportOptions options() const;
};

// Imports MODEL (as `options` say) and runs the graph passes; errors carry the file name.
[[nodiscard]] LoadedModel load_model(const std::string& path, const ImportOptions& options = {});

// The `eval --json` object of DESIGN.md for `acc` (threads: the kernel thread count).
[[nodiscard]] nlohmann::ordered_json accuracy_json(const Accuracy& acc);
// "<what> on <data>: top-1 ... (... images/s on T thread(s))" on stdout.
void print_accuracy(const std::string& what, const std::string& data, const Accuracy& acc);
// One line per output on stdout: "  against float, output NAME: SQNR .. dB, top-1 agreement
// ..% | mean IoU ..% (N images)".
void print_agreement(const Agreement& a);

// A quantized model folder (quantize --out DIR): DIR/model.onnx (or `model_override`),
// DIR/quant.json, and the plan compiled for the integer engine (errors name the file).
struct QuantizedModel {
  LoadedModel model;
  quant::QuantPlan plan;
  std::unique_ptr<IntegerProgram> program;
};
// integer: also build the IntegerProgram (its refusals name the quant.json).
// The model is imported as the quant.json records (--input-shape, --outputs at quantize).
[[nodiscard]] QuantizedModel load_quantized(const std::string& dir,
                                            const std::string& model_override, bool integer = true);

// Reads a quant.json and checks it was made for the model file at model_path (fingerprint)
// and fits its graph; errors name the quant.json.
[[nodiscard]] quant::QuantPlan load_plan(const std::string& quant_path, const LoadedModel& model);

// Preprocessing flags for raw images, used when the model has no gammaq.preprocess metadata
// (and overriding it field by field when given).
struct PreprocessFlags {
  std::optional<double> scale;
  std::vector<float> mean, std;
  std::string channels;
  std::vector<int64_t> size;
  int64_t resize = 0;
  std::vector<int64_t> crop;
  bool skip_bad = false;
  void add_to(CLI::App& app);
  [[nodiscard]] Preprocess resolve(const Graph& g) const;
};

// How feature maps and weights are chosen, beyond the method name: the flags quantize and
// compare share.
struct MethodFlags {
  std::string bbits = "acc", granularity = "layer", rounding = "half_even", alpha = "1";
  std::string mode = "default", aciq = "mix";
  double percentile = 99.99;
  bool percentile_nonzero = false, paper = false, no_clip_below_t = false;
  int window = 4;
  int wlevels = 0;  // NUUQ: levels per weight codebook (0: uniform)
  bool nuuq_zero = false, nuuq_sym = false, bias_correction = false;
  std::string nuuq_solver = "dp";
  std::string wthreshold;  // threshold-quantizer weights: normal | empirical
  bool threshold_lloyd = false;
  int threshold_grid_bits = 0;
  void add_to(CLI::App& app);
  void apply(QuantizeOptions& o) const;  // leaves the method, widths and tuning alone
};

[[nodiscard]] double now_seconds();

// The command line this process was started with (main sets it), for summary.json.
void set_command_line(int argc, char** argv);
[[nodiscard]] const std::string& command_line();

// Draws DIR's report.html (or `out`) from the JSON files in DIR (src/report/html.h); returns
// the path written. Errors name the file at fault; nothing is written then.
std::string write_report(const std::string& dir, const std::string& out = "");

// Opens SPEC for model g and checks it up front, naming the spec in every error: it must hold
// at least one image, its image shape must match the model input, and (LabelledImages) it must
// carry labels. LabelsOrFloat: data without labels is labelled with the float model's top-1
// (ONNX ArgMax of g's first output, one thread: the same whatever the thread count), so that a
// command scoring top-1 scores the top-1 agreement with float instead; a warning says so.
enum class Need { Images, LabelledImages, LabelsOrFloat };
[[nodiscard]] std::unique_ptr<Dataset> open_data_for(const std::string& spec, const Preprocess& pre,
                                                     const Graph& g, Need need);

// --kernels fast|reference (checked by CLI11); empty: GAMMAQ_KERNELS, else fast.
[[nodiscard]] KernelImpl kernel_impl_option(const std::string& kernels);

// Top-1/top-5 of g on `data` under `plan` (null: float), fast kernels, `threads` threads.
[[nodiscard]] Accuracy evaluate_plan(const Graph& g, const quant::QuantPlan* plan, Dataset& data,
                                     int threads, const EvalOptions& options);

using Subcommand = int (*)();

void add_inspect(CLI::App& app, Subcommand& run);
void add_eval(CLI::App& app, Subcommand& run);
void add_quantize(CLI::App& app, Subcommand& run);
void add_run(CLI::App& app, Subcommand& run);
void add_export(CLI::App& app, Subcommand& run);
void add_sweep(CLI::App& app, Subcommand& run);
void add_mixed(CLI::App& app, Subcommand& run);
void add_compare(CLI::App& app, Subcommand& run);
void add_report(CLI::App& app, Subcommand& run);
void add_sensitivity(CLI::App& app, Subcommand& run);
void add_profile(CLI::App& app, Subcommand& run);

}  // namespace gammaq::cli
