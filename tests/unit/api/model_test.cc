// The public facade (gammaq/model.h) on a zoo model: it reproduces the CLI's sequence, arrays
// and specs calibrate alike, the integer engine equals the exact simulation, quant.json
// round-trips, exports are written, and bad input is a gammaq::Error.
#include "gammaq/model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "gammaq/error.h"
#include "unit/data/data_test_util.h"

namespace gammaq {
namespace {

using data::testing::TempDir;

const std::string kRoot = GAMMAQ_SOURCE_DIR;
const std::string kModel = kRoot + "/models/mobilenetv2.onnx";
constexpr const char* kCalib = "fashion-mnist:train[0:32]";
constexpr const char* kTest = "fashion-mnist:test[0:64]";

// Runs f and returns the kind of the gammaq::Error it throws, checking the message holds
// `substring`.
template <typename F>
ErrorKind error_of(F&& f, const std::string& substring) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(substring), std::string::npos) << e.what();
    return e.kind();
  }
  ADD_FAILURE() << "no gammaq::Error; expected one containing '" << substring << "'";
  return ErrorKind::Numerical;
}

bool same_formats(const std::vector<TensorFormat>& a, const std::vector<TensorFormat>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].name != b[i].name || a[i].role != b[i].role || a[i].bits != b[i].bits ||
        a[i].frac != b[i].frac || a[i].is_signed != b[i].is_signed ||
        a[i].channel_frac != b[i].channel_frac || a[i].at_accumulator != b[i].at_accumulator)
      return false;
  return true;
}

TEST(ModelTest, MissingModelFileIsAnIoError) {
  const std::string path = kRoot + "/models/no_such_model.onnx";
  EXPECT_EQ(error_of([&] { (void)Model::load(path); }, path), ErrorKind::Io);
}

TEST(ModelTest, LoadsWithTheCliPassesAndPreprocessing) {
  const Model m = Model::load(kModel);
  EXPECT_EQ(m.name(), "mobilenetv2");
  EXPECT_EQ(m.path(), kModel);
  EXPECT_EQ(m.input_shape(), (Shape{1, 28, 28}));
  for (const Node& n : m.graph().nodes)  // ReLU6 fused into its convolution
    EXPECT_NE(n.op, OpType::Clip) << n.name;
  const Preprocess p = m.preprocess();  // from the model's metadata
  ASSERT_EQ(p.mean.size(), 1u);
  EXPECT_NEAR(p.mean[0], 0.286f, 1e-6f);
  auto data = m.open_data(kTest);
  EXPECT_EQ(data->size(), 64);
  EXPECT_EQ(m.infer(data->read(0, 3).images).shape, (Shape{3, 10}));
}

TEST(ModelTest, BadInputsAreErrors) {
  const Model m = Model::load(kModel);
  EXPECT_EQ(error_of([&] { (void)m.open_data("fashion-mnist:test[5:5]"); }, "holds no images"),
            ErrorKind::InvalidData);
  auto wrong_shape = make_array_dataset(Tensor({2, 1, 8, 8}));
  EXPECT_EQ(error_of([&] { (void)m.quantize(*wrong_shape); }, "calibration data: images of shape"),
            ErrorKind::InvalidData);
  EXPECT_EQ(error_of([&] { (void)m.evaluate(*wrong_shape); }, "evaluation data"),
            ErrorKind::InvalidData);
  auto calib = m.open_data(kCalib);
  QuantizeConfig c;
  c.wbits = 1;
  EXPECT_EQ(error_of([&] { (void)m.quantize(*calib, c); }, "1"), ErrorKind::InvalidOption);
  c = {};
  c.method = "no-such-method";
  EXPECT_EQ(error_of([&] { (void)m.quantize(*calib, c); }, "no-such-method"),
            ErrorKind::InvalidOption);
  c = {};
  c.tune = Tuning::Activations;
  EXPECT_EQ(error_of([&] { (void)m.quantize(*calib, c); }, "QuantizeConfig::val"),
            ErrorKind::InvalidOption);
  RunOptions r;
  r.batch = 0;
  EXPECT_EQ(error_of([&] { (void)m.evaluate(*calib, r); }, "batch 0"), ErrorKind::InvalidOption);
  EXPECT_EQ(error_of([&] { (void)QuantizedModel::load(m, "/nonexistent/quant.json"); },
                     "/nonexistent/quant.json"),
            ErrorKind::Io);
}

TEST(ModelTest, QuantizesEvaluatesSavesAndExports) {
  const Model m = Model::load(kModel);
  QuantizeConfig config;
  config.wbits = 8;
  config.abits = 8;
  config.granularity = Granularity::Channel;

  // Calibration from arrays and from the spec holding the same images: the same formats.
  Batch b = m.open_data(kCalib)->read(0, 32);
  auto arrays = make_array_dataset(std::move(b.images), std::move(b.labels));
  const QuantizedModel from_arrays = m.quantize(*arrays, config);
  auto calib = m.open_data(kCalib);
  const QuantizedModel q = m.quantize(*calib, config);
  EXPECT_TRUE(same_formats(from_arrays.formats(), q.formats()));
  EXPECT_EQ(q.calibration_images(), 32);
  EXPECT_EQ(q.method(), "ggd");
  EXPECT_EQ(q.wbits(), 8);

  // Every Conv/Gemm has a weight format (per channel here), every activation 8 bits.
  const std::vector<TensorFormat> formats = q.formats();
  int layers = 0, weights = 0, activations = 0;
  for (const Node& n : m.graph().nodes) layers += n.op == OpType::Conv || n.op == OpType::Gemm;
  for (const TensorFormat& f : formats) {
    if (f.role == TensorFormat::Role::Weight) {
      ++weights;
      EXPECT_EQ(f.bits, 8) << f.name;
      EXPECT_FALSE(f.channel_frac.empty()) << f.name;
    } else if (f.role == TensorFormat::Role::Activation) {
      ++activations;
      EXPECT_EQ(f.bits, 8) << f.name;
      EXPECT_FALSE(f.method.empty()) << f.name;
    }
  }
  EXPECT_EQ(weights, layers);
  EXPECT_EQ(formats.front().name, m.graph().values[m.graph().input].name);
  EXPECT_GT(activations, layers);

  // Float vs simulation vs integer engine; the integer engine equals the exact simulation.
  auto test = m.open_data(kTest);
  const Accuracy fa = m.evaluate(*test);
  const Accuracy qa = q.evaluate(*test);
  RunOptions exact;
  exact.kernels = KernelImpl::Reference;
  const Accuracy sa = q.evaluate(*test, exact);
  const Accuracy ia = q.evaluate_integer(*test);
  EXPECT_EQ(fa.images, 64);
  EXPECT_GT(fa.top1(), 0.8);
  EXPECT_NEAR(qa.top1(), fa.top1(), 0.05);
  EXPECT_EQ(ia.top1_correct, sa.top1_correct);
  EXPECT_EQ(ia.top5_correct, sa.top5_correct);
  const Tensor images = test->read(0, 8).images;
  const Tensor sim = q.infer(images, exact), integer = q.infer_integer(images);
  ASSERT_EQ(sim.shape, integer.shape);
  for (size_t i = 0; i < sim.data.size(); ++i) ASSERT_EQ(sim.data[i], integer.data[i]) << i;

  // quant.json round trip; DIR is what the CLI reads.
  TempDir tmp;
  q.save(tmp.file("q"), fa, qa);
  for (const char* f : {"quant.json", "model.onnx", "summary.json"})
    EXPECT_TRUE(std::filesystem::exists(tmp.file("q") + "/" + f)) << f;
  const QuantizedModel back = QuantizedModel::load(m, tmp.file("q/quant.json"));
  EXPECT_TRUE(same_formats(back.formats(), formats));
  EXPECT_EQ(back.evaluate_integer(*test).top1_correct, ia.top1_correct);
  // A plan of another model file is refused.
  const Model other = Model::load(kRoot + "/models/googlenet.onnx");
  EXPECT_EQ(error_of([&] { (void)QuantizedModel::load(other, tmp.file("q/quant.json")); },
                     "another model"),
            ErrorKind::InvalidData);

  // Exports: a C header, binaries with a manifest, a QDQ ONNX model.
  back.export_to(ExportFormat::C, tmp.file("c"));
  EXPECT_TRUE(std::filesystem::exists(tmp.file("c/gq_mobilenetv2.h")));
  back.export_to(ExportFormat::Bin, tmp.file("bin"));
  EXPECT_TRUE(std::filesystem::exists(tmp.file("bin/manifest.json")));
  (void)back.export_to(ExportFormat::Qdq, tmp.file("q.qdq.onnx"));
  EXPECT_GT(std::filesystem::file_size(tmp.file("q.qdq.onnx")), 0u);
  EXPECT_EQ(error_of([&] { (void)back.export_to(ExportFormat::C, tmp.file("c")); }, "c"),
            ErrorKind::InvalidOption);  // not empty
}

TEST(ModelTest, MethodNamesComeFromTheTable) {
  const std::vector<std::string> names = quantize_methods();
  EXPECT_NE(std::find(names.begin(), names.end(), "ggd"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "ristretto"), names.end());
}

}  // namespace
}  // namespace gammaq
