// The label-free scores (evaluate.h Agreement): a quantized output against float's, by
// hand-derived values: SQNR, top-1 agreement of a classifier, mean IoU of per-pixel classes.
#include <gtest/gtest.h>

#include <cmath>

#include "gammaq/evaluate.h"

namespace gammaq {
namespace {

Agreement one_output(Shape shape) {
  Agreement a;
  OutputAgreement o;
  o.name = "y";
  o.shape = std::move(shape);
  a.outputs.push_back(o);
  return a;
}

void add(Agreement& a, const Tensor& ref, const Tensor& got, float threshold = 0.5f) {
  const Tensor* r[] = {&ref};
  const Tensor* g[] = {&got};
  accumulate_agreement(r, g, threshold, a);
}

TEST(Agreement, ClassifierTop1AgreementAndSqnr) {
  Agreement a = one_output({1, 3});
  add(a, Tensor(Shape{2, 3}, {1, 2, 3, 3, 2, 1}), Tensor(Shape{2, 3}, {1, 3, 2, 3, 2, 1}));
  const OutputAgreement& o = a.first();
  EXPECT_TRUE(o.classifier());
  EXPECT_FALSE(o.map());
  EXPECT_EQ(a.images, 2);
  EXPECT_DOUBLE_EQ(o.top1_agreement(), 0.5);  // image 0: class 2 vs 1; image 1: class 0 both
  EXPECT_NEAR(o.sqnr_db(), 10 * std::log10(28.0 / 2.0), 1e-12);
  // Equal outputs: SQNR +inf.
  Agreement same = one_output({1, 3});
  const Tensor t(Shape{1, 3}, {0, 1, 0});
  add(same, t, t);
  EXPECT_TRUE(std::isinf(same.first().sqnr_db()));
  EXPECT_DOUBLE_EQ(same.first().top1_agreement(), 1.0);
}

TEST(Agreement, MapMeanIouOfPerPixelClasses) {
  // K = 2, two pixels: float classes (1, 0), quantized (1, 1). Class 0: 0 of 1 pixel;
  // class 1: 1 of 2 pixels. Mean IoU (0 + 1/2) / 2.
  Agreement a = one_output({1, 2, 1, 2});
  add(a, Tensor(Shape{1, 2, 1, 2}, {0, 1, 1, 0}), Tensor(Shape{1, 2, 1, 2}, {0, 0, 1, 1}));
  EXPECT_TRUE(a.first().map());
  EXPECT_DOUBLE_EQ(a.first().miou(), 0.25);
  // K = 1 probability map at threshold 0.5: float (0, 1, 1), quantized (1, 1, 0).
  // Background 0 of 2, foreground 1 of 3: (0 + 1/3) / 2.
  Agreement p = one_output({1, 1, 1, 3});
  add(p, Tensor(Shape{1, 1, 1, 3}, {0.2f, 0.9f, 0.7f}),
      Tensor(Shape{1, 1, 1, 3}, {0.6f, 0.8f, 0.4f}));
  EXPECT_DOUBLE_EQ(p.first().miou(), 1.0 / 6.0);
  // The threshold moves the classes: at 0.1 every pixel is foreground in both.
  Agreement low = one_output({1, 1, 1, 3});
  add(low, Tensor(Shape{1, 1, 1, 3}, {0.2f, 0.9f, 0.7f}),
      Tensor(Shape{1, 1, 1, 3}, {0.6f, 0.8f, 0.4f}), 0.1f);
  EXPECT_DOUBLE_EQ(low.first().miou(), 1.0);
}

}  // namespace
}  // namespace gammaq
