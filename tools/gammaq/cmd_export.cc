// gammaq export DIR --format c|bin -o PATH [--model MODEL.onnx]
// The integer model of a quantized model folder (quantize --out DIR) for hardware: a C99
// header, or raw little-endian binaries with a JSON manifest (src/export/export.h).
#include <cstdio>
#include <memory>

#include "common.h"
#include "engine/integer.h"
#include "export/export.h"
#include "gammaq/error.h"

namespace gammaq::cli {
namespace {

struct ExportArgs {
  std::string dir, format, out, model;
} args;

int run_export() {
  const std::string model_path = args.model.empty() ? args.dir + "/model.onnx" : args.model;
  const LoadedModel m = load_model(model_path);
  const std::string quant_path = args.dir + "/quant.json";
  const quant::QuantPlan plan = load_plan(quant_path, m);
  std::unique_ptr<IntegerProgram> program;
  try {
    program = std::make_unique<IntegerProgram>(m.graph, plan);
  } catch (const Error& e) {
    throw with_context(e, quant_path);
  }
  export_model(*program, plan, args.format, args.out);
  std::printf("wrote %s (%s)\n", args.out.c_str(), args.format.c_str());
  return 0;
}

}  // namespace

void add_export(CLI::App& app, Subcommand& run) {
  CLI::App* sub = app.add_subcommand("export", "write the integer model for hardware (c, bin)");
  sub->add_option("DIR", args.dir, "folder with quant.json and model.onnx (quantize --out)")
      ->required();
  sub->add_option("--format", args.format, "c (C99 header) or bin (binaries + manifest.json)")
      ->required();
  sub->add_option("-o,--out", args.out, "output folder (must not exist, or be empty)")->required();
  sub->add_option("--model", args.model, "the ONNX model (default DIR/model.onnx)");
  sub->callback([&run] { run = run_export; });
}

}  // namespace gammaq::cli
