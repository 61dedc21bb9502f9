#include "common.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/atomic_file.h"
#include "engine/fake_quant.h"
#include "gammaq/error.h"
#include "kernels/fast/fast.h"
#include "report/html.h"

namespace gammaq::cli {

LoadedModel load_model(const std::string& path, const ImportOptions& options) {
  LoadedModel m;
  m.path = path;
  m.graph = load_model_graph(path, &m.passes, options);
  m.import = options;
  return m;
}

void ImportFlags::add_to(CLI::App& app) {
  app.add_option("--input-shape", input_shape,
                 "N,C,H,W: fixes the model input's symbolic dimensions (NCHW order)");
  app.add_option("--outputs", outputs,
                 "NAME[,NAME...]: end the model at these tensors (before post-processing)")
      ->delimiter(',');
}

ImportOptions ImportFlags::options() const {
  ImportOptions o;
  o.outputs = outputs;
  if (input_shape.empty()) return o;
  std::stringstream ss(input_shape);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size())
      throw Error(ErrorKind::InvalidOption,
                  str_cat("--input-shape '", input_shape, "': expected N,C,H,W (integers)"));
    o.input_shape.push_back(v);
  }
  if (o.input_shape.size() != 4)
    throw Error(ErrorKind::InvalidOption,
                str_cat("--input-shape '", input_shape, "': expected N,C,H,W (4 integers)"));
  return o;
}

void PreprocessFlags::add_to(CLI::App& app) {
  app.add_option("--scale", scale, "pixel scale (default from the model, else 1/255)");
  app.add_option("--mean", mean, "per-channel mean subtracted after scaling");
  app.add_option("--std", std, "per-channel divisor after subtracting the mean")
      ->check(CLI::PositiveNumber);
  app.add_option("--channels", channels, "gray, rgb or bgr")
      ->check(CLI::IsMember({"gray", "rgb", "bgr"}));
  app.add_option("--size", size, "H W to resize raw images to")->expected(2);
  app.add_option("--resize", resize,
                 "resize raw images' shorter side to N first (ImageNet style: --resize 256 "
                 "--crop 224)")
      ->check(CLI::PositiveNumber);
  app.add_option("--crop", crop, "H [W]: then cut the centre H x W (W = H when one value)")
      ->expected(1, 2)
      ->check(CLI::PositiveNumber);
  app.add_flag("--skip-bad", skip_bad,
               "folder: data: leave out (and count) images that do not decode, instead of "
               "stopping at the first");
}

Preprocess PreprocessFlags::resolve(const Graph& g) const {
  Preprocess p = model_preprocess(g);
  if (scale) p.scale = *scale;
  if (!mean.empty()) p.mean = mean;
  if (!std.empty()) p.std = std;
  if (channels == "gray") p.channels = Channels::Gray;
  if (channels == "rgb") p.channels = Channels::Rgb;
  if (channels == "bgr") p.channels = Channels::Bgr;
  if (size.size() == 2) {
    p.height = size[0];
    p.width = size[1];
  }
  if (resize > 0) p.resize = resize;
  if (!crop.empty()) {
    p.crop_h = crop[0];
    p.crop_w = crop.size() > 1 ? crop[1] : crop[0];
  }
  p.skip_bad = skip_bad;
  return p;
}

double now_seconds() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

namespace {

// Unlabelled data labelled with the float model's top-1 class per image.
class FloatTop1Labels final : public Dataset {
 public:
  FloatTop1Labels(std::unique_ptr<Dataset> inner, const Graph& g) : inner_(std::move(inner)) {
    Executor e(g, {KernelImpl::Fast, 1, nullptr});
    constexpr int64_t kBatch = 32;
    for (int64_t b = 0; b < inner_->size(); b += kBatch) {
      const Batch bt = inner_->read(b, std::min(kBatch, inner_->size() - b));
      const std::vector<int64_t> top1 = top1_classes(e.run(bt.images));
      labels_.insert(labels_.end(), top1.begin(), top1.end());
    }
  }
  int64_t size() const override { return inner_->size(); }
  bool has_labels() const override { return true; }
  Shape image_shape() const override { return inner_->image_shape(); }
  std::vector<std::string> notes() const override { return inner_->notes(); }
  Batch read(int64_t begin, int64_t count) override {
    Batch b = inner_->read(begin, count);
    b.labels.assign(labels_.begin() + begin, labels_.begin() + begin + count);
    return b;
  }

 private:
  std::unique_ptr<Dataset> inner_;
  std::vector<int64_t> labels_;
};

}  // namespace

std::unique_ptr<Dataset> open_data_for(const std::string& spec, const Preprocess& pre,
                                       const Graph& g, Need need) {
  std::unique_ptr<Dataset> data = open_dataset(spec, pre);
  for (const std::string& note : data->notes())
    std::fprintf(stderr, "gammaq: warning: %s\n", printable(note).c_str());
  check_data_fits(*data, g, spec, need == Need::LabelledImages);
  if (need == Need::LabelsOrFloat && !data->has_labels()) {
    std::fprintf(stderr,
                 "gammaq: warning: %s has no labels: each image is labelled with the float "
                 "model's top-1, so top-1 below is the agreement with float\n",
                 printable(spec).c_str());
    data = std::make_unique<FloatTop1Labels>(std::move(data), g);
  }
  return data;
}

quant::QuantPlan load_plan(const std::string& quant_path, const LoadedModel& model) {
  return read_plan_file(quant_path, model.graph, model.path, file_fingerprint(model.path),
                        model.import);
}

nlohmann::ordered_json accuracy_json(const Accuracy& acc) {
  nlohmann::ordered_json j;
  j["top1"] = acc.top1();
  j["top5"] = acc.top5();
  j["images"] = acc.images;
  j["images_per_s"] = acc.images_per_s();
  j["threads"] = kernels::kernel_threads();
  j["tied_top1"] = acc.tied_top1;
  return j;
}

void print_agreement(const Agreement& a) {
  for (const OutputAgreement& o : a.outputs) {
    const double db = o.sqnr_db();
    std::string line =
        str_cat("  against float, output ", o.name, " ", shape_str(o.shape), ": SQNR ");
    line += std::isfinite(db) ? str_cat(static_cast<int>(std::lround(db * 100)) / 100.0, " dB")
                              : std::string("inf (equal)");
    char buf[64];
    if (o.classifier()) {
      std::snprintf(buf, sizeof buf, ", top-1 agreement %.2f%%", 100 * o.top1_agreement());
      line += buf;
    }
    if (o.map()) {
      std::snprintf(buf, sizeof buf, ", mean IoU %.2f%%", 100 * o.miou());
      line += buf;
    }
    std::printf("%s (%lld images)\n", line.c_str(), static_cast<long long>(o.images));
  }
}

void print_accuracy(const std::string& what, const std::string& data, const Accuracy& acc) {
  std::printf(
      "%s on %s: top-1 %.4f  top-5 %.4f  (%lld images, %lld with a tied top score; "
      "%.1f images/s on %d thread(s))\n",
      what.c_str(), data.c_str(), acc.top1(), acc.top5(), static_cast<long long>(acc.images),
      static_cast<long long>(acc.tied_top1), acc.images_per_s(), kernels::kernel_threads());
}

QuantizedModel load_quantized(const std::string& dir, const std::string& model_override,
                              bool integer) {
  const std::string model_path = model_override.empty() ? dir + "/model.onnx" : model_override;
  if (!std::filesystem::exists(model_path))
    throw Error(ErrorKind::Io, str_cat(model_path,
                                       ": no such file (quantize --out writes it; or "
                                       "name the model with --model)"));
  QuantizedModel q;
  const std::string quant_path = dir + "/quant.json";
  // The plan is read first: the model is imported as it records (--input-shape, --outputs).
  q.plan = read_plan_json(quant_path);
  q.model = load_model(model_path, ImportOptions{q.plan.input_shape, q.plan.outputs});
  check_plan_for(q.plan, quant_path, q.model.graph, model_path, file_fingerprint(model_path),
                 q.model.import);
  if (!integer) return q;
  try {
    q.program = std::make_unique<IntegerProgram>(q.model.graph, q.plan);
  } catch (const Error& e) {
    throw with_context(e, quant_path);
  }
  return q;
}

KernelImpl kernel_impl_option(const std::string& kernels) {
  if (kernels.empty()) return kernel_impl_from_env(KernelImpl::Fast);
  return kernels == "reference" ? KernelImpl::Reference : KernelImpl::Fast;
}

Accuracy evaluate_plan(const Graph& g, const quant::QuantPlan* plan, Dataset& data, int threads,
                       const EvalOptions& options) {
  FakeQuant fq;
  if (plan) fq = resolve_plan(g, *plan);
  Executor exec(g, {KernelImpl::Fast, threads, plan ? &fq : nullptr});
  return evaluate(exec, data, options);
}

void MethodFlags::add_to(CLI::App& app) {
  app.add_option("--bbits", bbits, "bias: acc (accumulator precision, default) or bits");
  app.add_option("--percentile", percentile, "--method percentile: p in (0, 100] (default 99.99)");
  app.add_flag("--percentile-nonzero", percentile_nonzero,
               "--method percentile: quantile of the non-zero values (zeros counted otherwise)");
  app.add_option("--aciq", aciq, "--method aciq: laplace, gauss or mix (default)");
  app.add_flag("--no-clip-below-T", no_clip_below_t,
               "threshold methods: the coarser power-of-two step only (nothing below T clips)");
  app.add_option("--mode", mode, "ggd: default | fast | fast-paper | exact");
  app.add_option("--granularity", granularity, "weights: layer (default) or channel")
      ->check(CLI::IsMember({"layer", "channel"}));
  app.add_option("--window", window, "K_w: weight candidates tried (default 4; paper 2)");
  app.add_option("--rounding", rounding, "half_even (default) | half_away | half_up");
  app.add_option("--ggd-alpha", alpha, "1 (moment fit, default) or free (profile ML)")
      ->check(CLI::IsMember({"1", "free"}));
  app.add_flag("--paper", paper, "reproduce the paper: signed feature maps, K_w = 2");
  app.add_option("--wlevels", wlevels,
                 "NUUQ weights: Q levels of the --wbits grid per layer (per channel with "
                 "--granularity channel); default: uniform");
  app.add_flag("--bias-correction", bias_correction,
               "subtract from each bias the mean shift its quantized weights cause (pass 1)");
  app.add_flag("--nuuq-zero", nuuq_zero, "NUUQ: 0 is one of the levels");
  app.add_flag("--nuuq-sym", nuuq_sym, "NUUQ: levels mirrored about 0");
  app.add_option("--nuuq-solver", nuuq_solver, "NUUQ: dp (exact, default) or lloyd")
      ->check(CLI::IsMember({"dp", "lloyd"}));
  app.add_option("--wthreshold", wthreshold,
                 "threshold-quantizer weights: 2^wbits equiprobable bins of a fitted normal or "
                 "of the data (normal | empirical), per layer or channel");
  app.add_flag("--threshold-lloyd", threshold_lloyd,
               "threshold quantizers (--wthreshold, --method threshold*): Lloyd-Max refinement");
  app.add_option("--threshold-grid-bits", threshold_grid_bits,
                 "threshold quantizers: grid width of levels and thresholds (default bits + 4)");
}

void MethodFlags::apply(QuantizeOptions& o) const {
  o.percentile = percentile;
  o.percentile_nonzero = percentile_nonzero;
  o.aciq = aciq;
  o.clip_below_t = !no_clip_below_t;
  o.mode = quant::parse_fm_mode(mode);
  o.bbits = bbits;
  o.weight_window = paper && window == 4 ? 2 : window;  // the paper's K_w
  o.per_channel = granularity == "channel";
  o.signed_activations = paper;
  o.alpha_free = alpha == "free";
  o.rounding = quant::parse_rounding(rounding);
  o.wlevels = wlevels;
  o.bias_correction = bias_correction;
  o.nuuq_zero = nuuq_zero;
  o.nuuq_sym = nuuq_sym;
  o.nuuq_lloyd = nuuq_solver == "lloyd";
  o.wthreshold = wthreshold;
  o.threshold_lloyd = threshold_lloyd;
  o.threshold_grid_bits = threshold_grid_bits;
}

namespace {
std::string& command_line_storage() {
  static std::string line;
  return line;
}
}  // namespace

void set_command_line(int argc, char** argv) {
  std::string& line = command_line_storage();
  line.clear();
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a.find_first_of(" \t\"'$") != std::string::npos) a = "'" + a + "'";
    line += (i ? " " : "") + a;
  }
}

const std::string& command_line() { return command_line_storage(); }

std::string write_report(const std::string& dir, const std::string& out) {
  const report::ReportInputs in = report::load_report_inputs(dir);
  const std::string html = report::render_html(in);
  const std::string path = out.empty() ? dir + "/report.html" : out;
  write_text_file(path, html);
  return path;
}

}  // namespace gammaq::cli
