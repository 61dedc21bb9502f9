// gammaq export DIR --format c|bin|vectors -o PATH [--model MODEL.onnx]
//               [--data SPEC --images N]   (vectors)
// The integer model of a quantized model folder (quantize --out DIR) for hardware: a C99
// header, raw little-endian binaries with a JSON manifest, or per-tensor test vectors
// (src/export/export.h).
#include <cstdio>
#include <memory>

#include "common.h"
#include "engine/integer.h"
#include "export/export.h"
#include "gammaq/error.h"

namespace gammaq::cli {
namespace {

struct ExportArgs {
  std::string dir, format, out, model, data;
  int64_t images = 1;
  PreprocessFlags pre;
} args;

int run_export() {
  const QuantizedModel q = load_quantized(args.dir, args.model);
  const LoadedModel& m = q.model;
  const quant::QuantPlan& plan = q.plan;
  const IntegerProgram* program = q.program.get();
  if (args.format == "vectors") {
    if (args.data.empty())
      throw Error(ErrorKind::InvalidOption, "--format vectors needs --data (the images to run)");
    auto data = open_data_for(args.data, args.pre.resolve(m.graph), m.graph, Need::Images);
    if (args.images < 1 || args.images > data->size())
      throw Error(ErrorKind::InvalidOption, str_cat("--images ", args.images, ": must be in 1..",
                                                    data->size(), " (", args.data, ")"));
    export_vectors(*program, plan, data->read(0, args.images).images, args.out);
  } else {
    export_model(*program, plan, args.format, args.out);
  }
  std::printf("wrote %s (%s)\n", args.out.c_str(), args.format.c_str());
  return 0;
}

}  // namespace

void add_export(CLI::App& app, Subcommand& run) {
  CLI::App* sub =
      app.add_subcommand("export", "write the integer model for hardware (c, bin, vectors)");
  sub->add_option("DIR", args.dir, "folder with quant.json and model.onnx (quantize --out)")
      ->required();
  sub->add_option("--format", args.format,
                  "c (C99 header), bin (binaries + manifest.json) or vectors (test vectors)")
      ->required();
  sub->add_option("--data", args.data, "vectors: images to run (SPEC)");
  sub->add_option("--images", args.images, "vectors: how many of them (default 1)");
  args.pre.add_to(*sub);
  sub->add_option("-o,--out", args.out, "output folder (must not exist, or be empty)")->required();
  sub->add_option("--model", args.model, "the ONNX model (default DIR/model.onnx)");
  sub->callback([&run] { run = run_export; });
}

}  // namespace gammaq::cli
