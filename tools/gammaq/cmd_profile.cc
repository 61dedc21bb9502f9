// gammaq profile MODEL [--quant DIR]: per-layer time in float and in the integer engine, MACs
// and GOP/s, and the layers where integer is not faster.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>

#include "common.h"
#include "core/atomic_file.h"
#include "gammaq/error.h"
#include "pipeline/profile.h"

namespace gammaq::cli {
namespace {

struct ProfileArgs {
  std::string model, quant, data, out;
  ImportFlags imp;
  int64_t batch = 64;
  int repeat = 5, threads = 0;
  bool json = false, quiet = false, report = false;
  PreprocessFlags pre;
} args;

using Json = nlohmann::ordered_json;

Json gops(int64_t macs, int64_t batch, double seconds) {
  if (macs <= 0 || !(seconds > 0)) return nullptr;
  return 2.0 * static_cast<double>(macs) * static_cast<double>(batch) / seconds / 1e9;
}

int run_profile() {
  if (args.batch < 1)
    throw Error(ErrorKind::InvalidOption, str_cat("--batch ", args.batch, ": must be >= 1"));
  const std::string out = !args.out.empty()     ? args.out
                          : !args.quant.empty() ? args.quant
                                                : "gammaq_profile";
  check_output_path(out, OutputKind::Folder, args.out.empty() ? "profile folder" : "--out");
  const LoadedModel m = load_model(args.model, args.imp.options());
  const Graph& g = m.graph;
  quant::QuantPlan plan;
  std::unique_ptr<IntegerProgram> program;
  if (!args.quant.empty()) {
    plan = load_plan(args.quant + "/quant.json", m);
    try {
      program = std::make_unique<IntegerProgram>(g, plan);
    } catch (const Error& e) {
      throw with_context(e, args.quant + "/quant.json");
    }
  }
  Tensor images;
  std::string source;
  if (!args.data.empty()) {
    auto data = open_data_for(args.data, args.pre.resolve(g), g, Need::Images);
    images = data->read(0, std::min(args.batch, data->size())).images;
    source = args.data;
  } else {  // timing barely depends on the pixels: a fixed pseudo-random batch
    Shape s = g.values[static_cast<size_t>(g.input)].shape;
    s[0] = args.batch;
    images = Tensor(s);
    std::mt19937 rng(1);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (float& v : images.data) v = normal(rng);
    source = "random N(0,1) images";
  }
  ProfileOptions o;
  o.repeat = args.repeat;
  o.threads = args.threads;
  if (!args.quiet)
    std::fprintf(stderr, "profile %s: %d timed runs of a batch of %lld in float%s...\n",
                 g.name.c_str(), o.repeat, static_cast<long long>(images.shape[0]),
                 program ? " and on integers" : "");
  const ProfileReport r = profile_model(g, program.get(), images, o);

  Json j;
  j["model"] = g.name;
  j["model_sha256"] = file_fingerprint(args.model);
  j["quant"] = args.quant.empty() ? Json(nullptr) : Json(args.quant);
  j["images"] = source;
  j["batch"] = r.batch;
  j["threads"] = r.threads;
  j["repeat"] = r.repeat;
  int64_t macs = 0;
  for (const LayerProfile& l : r.layers) macs += l.macs;
  j["macs"] = macs;
  j["float_ms"] = 1e3 * r.float_seconds;
  j["float_gops"] = gops(macs, r.batch, r.float_seconds);
  j["integer_ms"] = program ? Json(1e3 * r.integer_seconds) : Json(nullptr);
  j["integer_gops"] = program ? gops(macs, r.batch, r.integer_seconds) : Json(nullptr);
  Json& layers = j["layers"] = Json::array();
  Json slower = Json::array();
  for (const LayerProfile& l : r.layers) {
    Json x = {{"name", l.name},
              {"op", l.op},
              {"macs", l.macs},
              {"float_ms", 1e3 * l.float_seconds},
              {"float_gops", gops(l.macs, r.batch, l.float_seconds)},
              {"float_kernel", l.float_kernel}};
    if (program) {
      x["integer_ms"] = 1e3 * l.integer_seconds;
      x["integer_gops"] = gops(l.macs, r.batch, l.integer_seconds);
      x["integer_kernel"] = l.integer_kernel;
      x["speedup"] =
          l.integer_seconds > 0 ? Json(l.float_seconds / l.integer_seconds) : Json(nullptr);
      // Where the integer engine is not faster (ignoring nodes under 1% of the float time).
      if (l.integer_seconds >= l.float_seconds && l.float_seconds >= 0.01 * r.float_seconds)
        slower.push_back(l.name);
    }
    layers.push_back(x);
  }
  j["integer_not_faster"] = slower;
  make_output_folder(out);
  write_text_file(out + "/profile.json", j.dump(1) + "\n");
  if (args.report) write_report(out);
  if (args.json) {
    std::cout << j.dump(1) << "\n";
    return 0;
  }
  std::printf("%s: batch of %lld (%s), %d threads, median of %d runs\n\n", g.name.c_str(),
              static_cast<long long>(r.batch), source.c_str(), r.threads, r.repeat);
  std::printf(
      "| layer | op | MMACs/image | float ms | float GOP/s |%s\n|---|---|---:|---:|---:|%s\n",
      program ? " integer ms | integer GOP/s | speed-up | integer kernel |" : "",
      program ? "---:|---:|---:|---|" : "");
  auto cell = [](const Json& v) {  // "-" where there is no figure (no MACs)
    char b[32] = "-";
    if (v.is_number()) std::snprintf(b, sizeof b, "%.1f", v.get<double>());
    return std::string(b);
  };
  for (const Json& l : layers) {
    std::printf("| %s | %s | %.3f | %.3f | %s |", l["name"].get<std::string>().c_str(),
                l["op"].get<std::string>().c_str(), l["macs"].get<double>() / 1e6,
                l["float_ms"].get<double>(), cell(l["float_gops"]).c_str());
    if (program)
      std::printf(" %.3f | %s | %.2f | %s |", l["integer_ms"].get<double>(),
                  cell(l["integer_gops"]).c_str(),
                  l["speedup"].is_number() ? l["speedup"].get<double>() : NAN,
                  l["integer_kernel"].get<std::string>().c_str());
    std::printf("\n");
  }
  std::printf("\nwhole network: float %.2f ms (%s GOP/s)", 1e3 * r.float_seconds,
              cell(j["float_gops"]).c_str());
  if (program) {
    std::printf(", integer %.2f ms (%s GOP/s): %.2fx", 1e3 * r.integer_seconds,
                cell(j["integer_gops"]).c_str(), r.float_seconds / r.integer_seconds);
    std::printf("\nlayers where integer is not faster: %zu", slower.size());
    for (const auto& n : slower) std::printf(" %s", n.get<std::string>().c_str());
  }
  std::printf("\nwrote %s/profile.json\n", out.c_str());
  return 0;
}

}  // namespace

void add_profile(CLI::App& app, Subcommand& run) {
  CLI::App* sub = app.add_subcommand(
      "profile", "time every layer in float and on integers (MACs, GOP/s, where int is slower)");
  sub->add_option("MODEL", args.model, "ONNX model")->required();
  args.imp.add_to(*sub);
  sub->add_option("--quant", args.quant, "a quantize DIR: also time its integer engine");
  sub->add_option("--data", args.data,
                  "images to time (SPEC; default: a fixed batch of random images)");
  sub->add_option("--batch", args.batch, "images per run (default 64)");
  sub->add_option("--repeat", args.repeat, "timed runs; figures are medians (default 5)")
      ->check(CLI::Range(1, 1000));
  sub->add_option("--threads", args.threads, "kernel threads (default: all cores)")
      ->check(CLI::Range(0, 1024));
  sub->add_option("--out", args.out,
                  "folder for profile.json (default: --quant DIR, else "
                  "gammaq_profile)");
  sub->add_flag("--report", args.report, "also draw OUT/report.html");
  sub->add_flag("--json", args.json, "print profile.json on stdout");
  sub->add_flag("--quiet", args.quiet, "no progress on stderr");
  args.pre.add_to(*sub);
  sub->callback([&run] { run = run_profile; });
}

}  // namespace gammaq::cli
