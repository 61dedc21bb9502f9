// fashion-mnist:train|test from Debian's dataset-fashion-mnist. The expected numbers were
// computed independently of gammaq with zcat + python3 over the .gz files:
//   test labels[:5] = 9 2 1 1 6, 1000 images per class; test image 0: pixel sum 33456,
//   pixel (14,14) = 110, pixel (20,17) = 255; test image 9999: sum 24390; all test pixels
//   sum 573469082. train labels[:10] = 9 0 0 3 0 2 7 2 5 5; train image 0: sum 76247;
//   train image 59999: sum 16684; all train pixels sum 3431114169.
#include <gtest/gtest.h>

#include <filesystem>
#include <numeric>

#include "data/readers.h"
#include "gammaq/dataset.h"

namespace gammaq::data {
namespace {

constexpr const char* kTestImages = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";

Preprocess identity() {
  Preprocess p;
  p.scale = 1.0;
  return p;
}

double image_sum(const Batch& b, int64_t k) {
  const auto first = b.images.data.begin() + k * 784;
  return std::accumulate(first, first + 784, 0.0);
}

class FashionMnist : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kTestImages)) GTEST_SKIP() << "dataset-fashion-mnist missing";
  }
};

TEST_F(FashionMnist, TestSplitMatchesIndependentFacts) {
  auto ds = open_dataset("fashion-mnist:test", identity());
  ASSERT_EQ(ds->size(), 10000);
  EXPECT_TRUE(ds->has_labels());
  EXPECT_EQ(ds->image_shape(), (Shape{1, 28, 28}));
  const Batch b = ds->read(0, 10000);
  EXPECT_EQ(b.images.shape, (Shape{10000, 1, 28, 28}));
  EXPECT_EQ(std::vector<int64_t>(b.labels.begin(), b.labels.begin() + 5),
            (std::vector<int64_t>{9, 2, 1, 1, 6}));
  std::vector<int> per_class(10, 0);
  for (int64_t label : b.labels) {
    ASSERT_GE(label, 0);
    ASSERT_LE(label, 9);
    ++per_class[static_cast<size_t>(label)];
  }
  EXPECT_EQ(per_class, std::vector<int>(10, 1000));
  EXPECT_EQ(image_sum(b, 0), 33456.0);
  EXPECT_EQ(b.images.data[14 * 28 + 14], 110.0f);
  EXPECT_EQ(b.images.data[20 * 28 + 17], 255.0f);
  EXPECT_EQ(image_sum(b, 9999), 24390.0);
  EXPECT_EQ(std::accumulate(b.images.data.begin(), b.images.data.end(), 0.0), 573469082.0);
}

TEST_F(FashionMnist, DefaultPreprocessScalesToUnitRange) {
  auto ds = open_dataset("fashion-mnist:test[:1]", Preprocess{});
  const Batch b = ds->read(0, 1);
  EXPECT_EQ(b.images.data[20 * 28 + 17], 1.0f);
  EXPECT_EQ(b.images.data[14 * 28 + 14], static_cast<float>(110.0 * (1.0 / 255.0)));
  EXPECT_EQ(b.images.data[0], 0.0f);
}

TEST_F(FashionMnist, TrainStreamsInBatchesWithoutRestarting) {
  const int64_t starts0 = gz_stream_starts();
  auto ds = open_dataset("fashion-mnist:train", identity());
  ASSERT_EQ(ds->size(), 60000);
  double total = 0;
  double first = 0;
  double last = 0;
  std::vector<int64_t> first_labels;
  for (int64_t begin = 0; begin < ds->size(); begin += 64) {
    const int64_t count = std::min<int64_t>(64, ds->size() - begin);
    const Batch b = ds->read(begin, count);
    ASSERT_EQ(b.images.shape, (Shape{count, 1, 28, 28}));
    ASSERT_EQ(static_cast<int64_t>(b.labels.size()), count);
    total += std::accumulate(b.images.data.begin(), b.images.data.end(), 0.0);
    if (begin == 0) {
      first = image_sum(b, 0);
      first_labels.assign(b.labels.begin(), b.labels.begin() + 10);
    }
    if (begin + count == ds->size()) last = image_sum(b, count - 1);
  }
  // One start for the image stream, one for the labels (read whole at open).
  EXPECT_EQ(gz_stream_starts() - starts0, 2);
  EXPECT_EQ(total, 3431114169.0);
  EXPECT_EQ(first, 76247.0);
  EXPECT_EQ(last, 16684.0);
  EXPECT_EQ(first_labels, (std::vector<int64_t>{9, 0, 0, 3, 0, 2, 7, 2, 5, 5}));
}

TEST_F(FashionMnist, BatchesEqualOneBigRead) {
  auto batched = open_dataset("fashion-mnist:train[1000:2000]", identity());
  auto whole = open_dataset("fashion-mnist:train[1000:2000]", identity());
  const Batch all = whole->read(0, 1000);
  std::vector<float> joined;
  std::vector<int64_t> labels;
  for (int64_t begin = 0; begin < 1000; begin += 64) {
    const Batch b = batched->read(begin, std::min<int64_t>(64, 1000 - begin));
    joined.insert(joined.end(), b.images.data.begin(), b.images.data.end());
    labels.insert(labels.end(), b.labels.begin(), b.labels.end());
  }
  EXPECT_EQ(joined, all.images.data);
  EXPECT_EQ(labels, all.labels);
  // Images 1000..1063 of train sum to 3668127 (python over the .gz file).
  EXPECT_EQ(std::accumulate(all.images.data.begin(), all.images.data.begin() + 64 * 784, 0.0),
            3668127.0);
}

}  // namespace
}  // namespace gammaq::data
