// The public facade (gammaq/model.h): each member forwards to the pipeline the CLI runs
// (tools/gammaq/cmd_quantize.cc, cmd_eval.cc, cmd_run.cc, cmd_export.cc) through the loaders
// both share (api/loading.h).
#include "gammaq/model.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "api/loading.h"
#include "core/atomic_file.h"
#include "engine/fake_quant.h"
#include "engine/integer.h"
#include "export/export.h"
#include "export/qdq.h"
#include "gammaq/error.h"
#include "pipeline/quantize.h"
#include "pipeline/summary.h"
#include "quant/methods/method.h"

namespace gammaq {

struct Model::Impl {
  std::string path;
  std::string fingerprint;  // of the file as imported (quant.json records it)
  ImportOptions import;     // as it was imported (quant.json records it too)
  Graph graph;
};

struct QuantizedModel::Impl {
  Model model;
  QuantizeReport report;  // report.plan: the formats; the rest is empty for a loaded plan
  bool quantized_here = false;
  std::string tune = "none";
};

namespace {

constexpr std::string_view kTuneNames[] = {"none", "w", "a", "wa"};

void check_batch(int64_t batch) {
  if (batch < 1) throw Error(ErrorKind::InvalidOption, str_cat("batch ", batch, ": must be >= 1"));
}

Accuracy evaluate_with(const Graph& g, const ExecutorOptions& eo, Dataset& data,
                       const RunOptions& o) {
  check_batch(o.batch);
  check_data_fits(data, g, "evaluation data", true);
  Executor exec(g, eo);
  EvalOptions e;
  e.batch = o.batch;
  e.limit = o.limit;
  return gammaq::evaluate(exec, data, e);
}

Tensor infer_with(const Graph& g, const ExecutorOptions& eo, const Tensor& images) {
  Executor exec(g, eo);
  return exec.run(images);
}

ExecutorOptions executor_options(const RunOptions& o) {
  ExecutorOptions eo;
  eo.impl = o.kernels;
  eo.threads = o.threads;
  return eo;
}

TensorFormat activation_format(const std::string& name, const quant::ActivationFormat& a) {
  TensorFormat f;
  f.name = name;
  f.role = TensorFormat::Role::Activation;
  f.bits = a.format.bits;
  f.frac = a.format.frac;
  f.is_signed = a.format.is_signed;
  f.method = a.method;
  f.sqnr_db = a.sqnr_db;
  return f;
}

}  // namespace

std::vector<std::string> quantize_methods() {
  std::vector<std::string> names;
  for (const quant::FmMethod& m : quant::fm_methods()) names.emplace_back(m.name);
  return names;
}

// ---- Model

Model Model::load(const std::string& path, const ImportOptions& options) {
  auto impl = std::make_shared<Impl>();
  impl->path = path;
  impl->import = options;
  impl->graph = load_model_graph(path, nullptr, options);
  impl->fingerprint = file_fingerprint(path);
  return Model(std::move(impl));
}

const std::string& Model::path() const noexcept { return impl_->path; }
const std::string& Model::name() const noexcept { return impl_->graph.name; }
const Graph& Model::graph() const noexcept { return impl_->graph; }

Shape Model::input_shape() const {
  const Shape& in = impl_->graph.values[impl_->graph.input].shape;
  return Shape(in.begin() + 1, in.end());
}

Preprocess Model::preprocess() const { return model_preprocess(impl_->graph); }

std::unique_ptr<Dataset> Model::open_data(std::string_view spec) const {
  auto data = open_dataset(spec, preprocess());
  check_data_fits(*data, impl_->graph, spec, false);
  return data;
}

Accuracy Model::evaluate(Dataset& data, const RunOptions& options) const {
  return evaluate_with(impl_->graph, executor_options(options), data, options);
}

Tensor Model::infer(const Tensor& images, const RunOptions& options) const {
  return infer_with(impl_->graph, executor_options(options), images);
}

QuantizedModel Model::quantize(Dataset& calib, const QuantizeConfig& config) const {
  const Graph& g = impl_->graph;
  check_data_fits(calib, g, "calibration data", false);
  QuantizeOptions o;
  o.method = config.method;
  o.wbits = config.wbits;
  o.abits = config.abits;
  o.per_channel = config.granularity == Granularity::Channel;
  o.limit = config.limit;
  o.batch = config.batch;
  o.threads = config.threads;
  o.quiet = config.quiet;
  o.model_sha256 = impl_->fingerprint;
  o.import = impl_->import;
  o.tune = kTuneNames[static_cast<size_t>(config.tune)];
  o.tune_options.limit = config.val_limit;
  o.tune_options.batch = config.batch;
  o.tune_options.threads = config.threads;
  o.tune_options.quiet = config.quiet;
  o.val = config.val;
  if (config.tune != Tuning::None) {
    if (config.val == nullptr)
      throw Error(ErrorKind::InvalidOption,
                  str_cat("tuning '", o.tune, "' needs validation images (QuantizeConfig::val)"));
    check_data_fits(*config.val, g, "validation data", true);
  }

  auto impl = std::make_shared<QuantizedModel::Impl>(QuantizedModel::Impl{*this, {}, true, o.tune});
  impl->report = quantize_model(g, calib, o);
  return QuantizedModel(std::move(impl));
}

// ---- QuantizedModel

QuantizedModel QuantizedModel::load(const Model& model, const std::string& quant_json) {
  auto impl = std::make_shared<Impl>(Impl{model, {}, false, "none"});
  impl->report.plan = read_plan_file(quant_json, model.graph(), model.path(),
                                     model.impl_->fingerprint, model.impl_->import);
  return QuantizedModel(std::move(impl));
}

const Model& QuantizedModel::model() const noexcept { return impl_->model; }
const std::string& QuantizedModel::method() const noexcept { return impl_->report.plan.method; }
int QuantizedModel::wbits() const noexcept { return impl_->report.plan.wbits; }
int QuantizedModel::abits() const noexcept { return impl_->report.plan.abits; }
int64_t QuantizedModel::calibration_images() const noexcept {
  return impl_->report.calibration_images;
}
const std::vector<std::string>& QuantizedModel::warnings() const noexcept {
  return impl_->report.warnings;
}

std::vector<TensorFormat> QuantizedModel::formats() const {
  const Graph& g = impl_->model.graph();
  const quant::QuantPlan& plan = impl_->report.plan;
  std::vector<TensorFormat> out;
  auto add_activation = [&](int value) {
    const std::string& name = g.values[value].name;
    if (auto it = plan.activations.find(name); it != plan.activations.end())
      out.push_back(activation_format(name, it->second));
  };
  add_activation(g.input);
  for (const Node& n : g.nodes)
    for (int v : n.outputs) add_activation(v);
  for (const Node& n : g.nodes) {
    auto it = plan.layers.find(n.name);
    if (it == plan.layers.end()) continue;
    const quant::LayerFormat& l = it->second;
    TensorFormat w;
    w.name = n.name;
    w.role = TensorFormat::Role::Weight;
    w.bits = l.weight.bits;
    w.frac = l.weight.frac;
    w.is_signed = l.weight.is_signed;
    w.channel_frac = l.weight_channel_frac;
    w.sqnr_db = l.weight_sqnr_db;
    out.push_back(std::move(w));
    if (n.inputs.size() < 3) continue;  // no bias
    TensorFormat b;
    b.name = n.name;
    b.role = TensorFormat::Role::Bias;
    b.at_accumulator = l.bias_at_accumulator;
    b.bits = l.bias_at_accumulator ? 32 : l.bias.bits;
    b.frac = l.bias_at_accumulator ? 0 : l.bias.frac;
    b.is_signed = l.bias_at_accumulator || l.bias.is_signed;
    b.sqnr_db = l.bias_sqnr_db;
    out.push_back(std::move(b));
  }
  return out;
}

void QuantizedModel::save(const std::string& dir, const Accuracy& float_accuracy,
                          const Accuracy& quantized_accuracy) const {
  const Model& m = impl_->model;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(ErrorKind::Io, str_cat(dir, ": cannot create folder (", ec.message(), ")"));
  if (file_fingerprint(m.path()) != m.impl_->fingerprint)
    throw Error(ErrorKind::InvalidData,
                str_cat(m.path(), ": changed since it was loaded; load the model again"));
  write_text_file(dir + "/quant.json", quant::plan_to_json(impl_->report.plan));
  {  // the model beside its formats, so DIR alone is a quantized model (gammaq run DIR)
    std::ifstream f(m.path(), std::ios::binary);
    std::stringstream bytes;
    bytes << f.rdbuf();
    write_text_file(dir + "/model.onnx", bytes.str());
  }
  if (impl_->quantized_here)
    write_text_file(dir + "/summary.json", summary_json(m.graph(), impl_->report, float_accuracy,
                                                        quantized_accuracy, 0.0, impl_->tune));
}

Accuracy QuantizedModel::evaluate(Dataset& data, const RunOptions& options) const {
  const Graph& g = impl_->model.graph();
  const FakeQuant fq = resolve_plan(g, impl_->report.plan);
  ExecutorOptions eo = executor_options(options);
  eo.fake_quant = &fq;
  return evaluate_with(g, eo, data, options);
}

Accuracy QuantizedModel::evaluate_integer(Dataset& data, const RunOptions& options) const {
  const Graph& g = impl_->model.graph();
  const IntegerProgram program(g, impl_->report.plan);
  ExecutorOptions eo = executor_options(options);
  eo.integer = &program;
  return evaluate_with(g, eo, data, options);
}

Tensor QuantizedModel::infer(const Tensor& images, const RunOptions& options) const {
  const Graph& g = impl_->model.graph();
  const FakeQuant fq = resolve_plan(g, impl_->report.plan);
  ExecutorOptions eo = executor_options(options);
  eo.fake_quant = &fq;
  return infer_with(g, eo, images);
}

Tensor QuantizedModel::infer_integer(const Tensor& images, const RunOptions& options) const {
  const Graph& g = impl_->model.graph();
  const IntegerProgram program(g, impl_->report.plan);
  ExecutorOptions eo = executor_options(options);
  eo.integer = &program;
  return infer_with(g, eo, images);
}

std::vector<std::string> QuantizedModel::export_to(ExportFormat format, const std::string& path,
                                                   const ExportOptions& options) const {
  const Graph& g = impl_->model.graph();
  const quant::QuantPlan& plan = impl_->report.plan;
  if (format == ExportFormat::Qdq)
    return export_qdq(g, plan, {options.opset, options.uint8_weights}, path).warnings;
  const IntegerProgram program(g, plan);
  export_model(program, plan, format == ExportFormat::C ? "c" : "bin", path);
  return {};
}

}  // namespace gammaq
