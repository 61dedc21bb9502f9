// make_array_dataset: in-memory images and labels as a Dataset, and its input checks.
#include <gtest/gtest.h>

#include "gammaq/dataset.h"
#include "gammaq/error.h"

namespace gammaq {
namespace {

Tensor ramp(Shape shape) {
  Tensor t(std::move(shape));
  for (size_t i = 0; i < t.data.size(); ++i) t.data[i] = static_cast<float>(i);
  return t;
}

TEST(ArrayDatasetTest, ReadsSlicesOfImagesAndLabels) {
  auto data = make_array_dataset(ramp({3, 2, 2, 2}), {4, 5, 6});
  EXPECT_EQ(data->size(), 3);
  EXPECT_TRUE(data->has_labels());
  EXPECT_EQ(data->image_shape(), (Shape{2, 2, 2}));
  const Batch b = data->read(1, 2);
  EXPECT_EQ(b.images.shape, (Shape{2, 2, 2, 2}));
  EXPECT_EQ(b.images.data.front(), 8.0f);
  EXPECT_EQ(b.images.data.back(), 23.0f);
  EXPECT_EQ(b.labels, (std::vector<int64_t>{5, 6}));
}

TEST(ArrayDatasetTest, UnlabelledImages) {
  auto data = make_array_dataset(ramp({2, 1, 3, 3}));
  EXPECT_FALSE(data->has_labels());
  EXPECT_TRUE(data->read(0, 2).labels.empty());
}

void expect_invalid(Tensor images, std::vector<int64_t> labels, const std::string& substring) {
  try {
    (void)make_array_dataset(std::move(images), std::move(labels));
    ADD_FAILURE() << "no error; expected one containing '" << substring << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidData);
    EXPECT_NE(std::string(e.what()).find(substring), std::string::npos) << e.what();
  }
}

TEST(ArrayDatasetTest, RejectsBadArrays) {
  expect_invalid(ramp({2, 28, 28}), {}, "expected N x C x H x W");
  Tensor short_data({2, 1, 2, 2});
  short_data.data.resize(7);
  expect_invalid(std::move(short_data), {}, "7 values for shape 2x1x2x2");
  expect_invalid(ramp({2, 1, 2, 2}), {1}, "1 for 2 images");
  expect_invalid(ramp({2, 1, 2, 2}), {1, -3}, "label -3 of image 1");
}

}  // namespace
}  // namespace gammaq
