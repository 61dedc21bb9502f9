// Every zoo model against ONNX Runtime's logits (tests/golden/<model>.ort_logits.npy, written
// by scripts/make_golden.js from the first 256 Fashion-MNIST test images): relative error
// <= 1e-4 on every logit (relative to the image's largest |logit|, at least 1), same top-1.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "gammaq/dataset.h"
#include "gammaq/evaluate.h"
#include "gammaq/executor.h"
#include "ir/passes.h"
#include "onnx/import.h"
#include "support/npy.h"

namespace gammaq {
namespace {

constexpr const char* kZoo[] = {"googlenet", "alexnet", "vgg", "resnet", "mobilenetv2"};

class ZooTest : public ::testing::TestWithParam<const char*> {};

double max_relative_error(const Tensor& got, const Tensor& want, int64_t* top1_mismatch) {
  const int64_t n = want.shape[0], classes = want.shape[1];
  double worst = 0.0;
  *top1_mismatch = 0;
  for (int64_t i = 0; i < n; ++i) {
    std::span<const float> g(got.data.data() + i * classes, classes);
    std::span<const float> w(want.data.data() + i * classes, classes);
    double scale = 1.0;
    for (float v : w) scale = std::max(scale, static_cast<double>(std::fabs(v)));
    for (int64_t j = 0; j < classes; ++j)
      worst = std::max(worst, std::fabs(static_cast<double>(g[j]) - w[j]) / scale);
    const int64_t top = std::max_element(w.begin(), w.end()) - w.begin();  // first maximum
    *top1_mismatch += label_rank(g, top) != 0;
  }
  return worst;
}

TEST_P(ZooTest, LogitsAgreeWithOnnxRuntime) {
  const std::string name = GetParam();
  const std::string root = GAMMAQ_SOURCE_DIR;
  const Tensor want = test::read_npy_f32(root + "/tests/golden/" + name + ".ort_logits.npy");
  ASSERT_EQ(want.rank(), 2u) << "missing golden file for " << name;
  Graph g = import_onnx_file(root + "/models/" + name + ".onnx");
  (void)optimize(g);
  Preprocess pre = parse_preprocess_json(g.metadata.at("gammaq.preprocess"));
  auto data = open_dataset("fashion-mnist:test[0:" + std::to_string(want.shape[0]) + "]", pre);
  const Batch batch = data->read(0, want.shape[0]);
  for (KernelImpl impl : {KernelImpl::Fast, KernelImpl::Reference}) {
    SCOPED_TRACE(impl == KernelImpl::Fast ? "fast kernels" : "reference kernels");
    Executor exec(g, {impl, 0});
    const Tensor& got = exec.run(batch.images);
    ASSERT_EQ(got.shape, want.shape);
    int64_t mismatch = 0;
    const double err = max_relative_error(got, want, &mismatch);
    EXPECT_LE(err, 1e-4) << name;
    EXPECT_EQ(mismatch, 0) << name << ": top-1 differs from ONNX Runtime";
    RecordProperty(impl == KernelImpl::Fast ? "max_rel_err_fast" : "max_rel_err_ref",
                   std::to_string(err));
  }
}

INSTANTIATE_TEST_SUITE_P(Zoo, ZooTest, ::testing::ValuesIn(kZoo));

}  // namespace
}  // namespace gammaq
