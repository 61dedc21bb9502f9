// gammaq export DIR --format qdq|c|bin|vectors -o PATH [--model MODEL.onnx]
//               [--opset 13|21]            (qdq)
//               [--data SPEC --images N]   (vectors)
// A quantized model folder (quantize --out DIR) for the runtimes and hardware users have: a
// QDQ ONNX model (src/export/qdq.h), or the integer model as a C99 header, raw little-endian
// binaries with a JSON manifest, or per-tensor test vectors (src/export/export.h).
#include <cstdio>
#include <memory>

#include "common.h"
#include "core/atomic_file.h"
#include "engine/integer.h"
#include "export/export.h"
#include "export/qdq.h"
#include "gammaq/error.h"

namespace gammaq::cli {
namespace {

struct ExportArgs {
  std::string dir, format, out, model, data;
  int64_t images = 1;
  int64_t opset = 13;
  std::string weight_type = "int8";
  PreprocessFlags pre;
} args;

int run_export() {
  check_output_path(args.out, args.format == "qdq" ? OutputKind::File : OutputKind::Folder,
                    "--out");
  if (args.format == "qdq") {
    // The simulation's graph, not the integer program: plans with float feature maps export too.
    const QuantizedModel q = load_quantized(args.dir, args.model, false);
    if (args.weight_type != "int8" && args.weight_type != "uint8")
      throw Error(ErrorKind::InvalidOption,
                  str_cat("--weight-type ", args.weight_type, ": expected int8 or uint8"));
    const QdqReport r =
        export_qdq(q.model.graph, q.plan, {args.opset, args.weight_type == "uint8"}, args.out);
    for (const std::string& w : r.warnings)
      std::fprintf(stderr, "gammaq: warning: %s: %s\n", args.out.c_str(), printable(w).c_str());
    std::printf(
        "wrote %s (qdq, opset %lld: %d feature maps quantized, %d clipped to formats "
        "narrower than their container)\n",
        args.out.c_str(), static_cast<long long>(r.opset), r.quantized_values, r.clipped_values);
    return 0;
  }
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
      app.add_subcommand("export", "write the quantized model for ONNX Runtime (qdq) or hardware");
  sub->add_option("DIR", args.dir, "folder with quant.json and model.onnx (quantize --out)")
      ->required();
  sub->add_option("--format", args.format,
                  "qdq (ONNX with QuantizeLinear/DequantizeLinear), c (C99 header), bin "
                  "(binaries + manifest.json) or vectors (test vectors)")
      ->required();
  sub->add_option("--opset", args.opset,
                  "qdq: 13 (int8/uint8, default) or 21 (int4 weights of <= 4 bits; int16 for > 8 "
                  "bits, chosen automatically)");
  sub->add_option("--weight-type", args.weight_type,
                  "qdq: int8 (default) or uint8 (8-bit weights offset by zero point 128, for "
                  "ONNX Runtime on x86 CPUs without VNNI, whose int8 kernels can saturate)");
  sub->add_option("--data", args.data, "vectors: images to run (SPEC)");
  sub->add_option("--images", args.images, "vectors: how many of them (default 1)");
  args.pre.add_to(*sub);
  sub->add_option("-o,--out", args.out,
                  "output: a .onnx file (qdq), else a folder that does not exist or is empty")
      ->required();
  sub->add_option("--model", args.model, "the ONNX model (default DIR/model.onnx)");
  sub->callback([&run] { run = run_export; });
}

}  // namespace gammaq::cli
