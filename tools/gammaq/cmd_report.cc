// gammaq report DIR [--data SPEC] [--images N] [--out FILE]: report.html from a quantize,
// sweep or compare folder (src/report/html.h). With --data, the per-tensor diagnostics
// (histograms, isolated and cumulative SQNR, saturation, accumulator widths) are measured
// first on DIR/model.onnx and DIR/quant.json and saved as DIR/diagnostics.json.
#include <cstdio>
#include <filesystem>

#include "common.h"
#include "core/atomic_file.h"
#include "gammaq/error.h"
#include "report/diagnostics.h"
#include "report/html.h"

namespace gammaq::cli {
namespace {

struct ReportArgs {
  std::string dir, out, data, model;
  int64_t images = 200, batch = 32;
  int threads = 0;
  bool quiet = false;
  PreprocessFlags pre;
} args;

int run_report() {
  const double t0 = now_seconds();
  if (!std::filesystem::is_directory(args.dir))
    throw Error(ErrorKind::Io, str_cat(args.dir, ": not a folder"));
  if (!args.out.empty()) check_output_path(args.out, OutputKind::File, "--out");
  if (args.images < 1)
    throw Error(ErrorKind::InvalidOption, str_cat("--images ", args.images, ": must be >= 1"));
  std::string diagnostics;
  if (!args.data.empty()) {
    const QuantizedModel q = load_quantized(args.dir, args.model, false);
    const Preprocess pre = args.pre.resolve(q.model.graph);
    auto data = open_data_for(args.data, pre, q.model.graph, Need::Images);
    report::DiagnoseOptions o;
    o.images = args.images;
    o.batch = args.batch;
    o.threads = args.threads;
    o.data = args.data;
    Progress progress("diagnose", std::min(args.images, data->size()), args.quiet);
    o.progress = [&](int64_t done, int64_t) { progress.update(done); };
    diagnostics = report::diagnose(q.model.graph, q.plan, *data, o).dump(1) + "\n";
    progress.finish();
  }
  // Render before writing anything, so a bad folder leaves no partial output.
  report::ReportInputs in = report::load_report_inputs(args.dir);
  if (!diagnostics.empty()) {
    in.diagnostics = report::Json::parse(diagnostics);
    if (std::find(in.files.begin(), in.files.end(), "diagnostics.json") == in.files.end())
      in.files.push_back("diagnostics.json");
  }
  const std::string html = report::render_html(in);
  const std::string out = args.out.empty() ? args.dir + "/report.html" : args.out;
  write_text_file(out, html);
  if (!diagnostics.empty()) write_text_file(args.dir + "/diagnostics.json", diagnostics);
  std::printf("wrote %s (%zu KiB, %d figures) in %.2f s\n", out.c_str(), html.size() / 1024,
              static_cast<int>([&] {
                size_t n = 0;
                for (size_t p = html.find("class=\"gq-figure\""); p != std::string::npos;
                     p = html.find("class=\"gq-figure\"", p + 1))
                  ++n;
                return n;
              }()),
              now_seconds() - t0);
  return 0;
}

}  // namespace

void add_report(CLI::App& app, Subcommand& run) {
  CLI::App* sub = app.add_subcommand(
      "report",
      "draw report.html (inline SVG, self-contained) from the JSON files of a quantize, "
      "sweep, compare, sensitivity or profile DIR");
  sub->add_option("DIR", args.dir,
                  "folder written by quantize, sweep, compare, sensitivity or profile (--out)")
      ->required();
  sub->add_option("--out", args.out, "the page to write (default DIR/report.html)");
  sub->add_option("--data", args.data,
                  "measure diagnostics first on these images (SPEC): histograms, isolated and "
                  "cumulative SQNR, saturation, accumulator widths -> DIR/diagnostics.json");
  sub->add_option("--images", args.images, "images --data measures (default 200)");
  sub->add_option("--model", args.model, "the ONNX model (default DIR/model.onnx)");
  sub->add_option("--batch", args.batch, "images per batch (default 32)");
  sub->add_option("--threads", args.threads, "kernel threads (default: all cores)")
      ->check(CLI::Range(0, 1024));
  sub->add_flag("--quiet", args.quiet, "no progress on stderr");
  args.pre.add_to(*sub);
  sub->callback([&run] { run = run_report; });
}

}  // namespace gammaq::cli
