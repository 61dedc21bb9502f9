// Calibration + choosing benchmark: one run of the quantize pipeline (GGD, default mode) on the
// first N images of a data spec, printing seconds and peak resident memory as JSON. Peak memory
// is per process, so each image count runs in its own process (scripts/calib_report.js).
//   calib_bench MODEL.onnx SPEC IMAGES [THREADS] [ABITS]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include "gammaq/error.h"
#include "ir/passes.h"
#include "onnx/import.h"
#include "pipeline/quantize.h"

namespace {

double rss_mib(const char* field) {  // VmRSS / VmHWM from /proc/self/status
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(field, 0) == 0) return std::stod(line.substr(line.find(':') + 1)) / 1024.0;
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: calib_bench MODEL.onnx SPEC IMAGES [THREADS] [ABITS]\n");
    return 2;
  }
  try {
    using namespace gammaq;
    Graph g = import_onnx_file(argv[1]);
    (void)optimize(g);
    auto data = open_dataset(argv[2], parse_preprocess_json(g.metadata.at("gammaq.preprocess")));
    QuantizeOptions o;
    o.limit = std::stoll(argv[3]);
    o.threads = argc > 4 ? std::stoi(argv[4]) : 0;
    o.wbits = o.abits = argc > 5 ? std::stoi(argv[5]) : 8;
    o.quiet = true;
    const double rss_before = rss_mib("VmRSS:");
    const auto t0 = std::chrono::steady_clock::now();
    const QuantizeReport rep = quantize_model(g, *data, o);
    const double total =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf(
        "{\"model\": \"%s\", \"images\": %lld, \"threads\": %d, \"abits\": %d, "
        "\"seconds\": %.3f, \"seconds_calibrate\": %.3f, \"seconds_choose\": %.3f, "
        "\"second_pass_tensors\": %d, \"rss_before_mib\": %.1f, \"peak_rss_mib\": %.1f}\n",
        g.name.c_str(), static_cast<long long>(rep.calibration_images), o.threads, o.abits, total,
        rep.seconds_calibrate, rep.seconds_choose, rep.second_pass_tensors, rss_before,
        rss_mib("VmHWM:"));
    return 0;
  } catch (const gammaq::Error& e) {
    std::fprintf(stderr, "calib_bench: %s\n", e.what());
    return 2;
  }
}
