// IDX datasets: values read back exactly, slices, gzip streaming, and every rejection.
#include <gtest/gtest.h>

#include "data/readers.h"
#include "data_test_util.h"
#include "gammaq/dataset.h"

namespace gammaq::data {
namespace {

using testing::Bytes;
using testing::expect_error;
using testing::idx_bytes;
using testing::TempDir;
using testing::write_file;
using testing::write_gz;

// Identity preprocessing: x = pixel.
Preprocess identity() {
  Preprocess p;
  p.scale = 1.0;
  return p;
}

// Three 2x3 images; image i pixel j = 10*i + j (+ 200 on the last pixel of image 2).
Bytes three_images() {
  Bytes data;
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 6; ++j) data.push_back(static_cast<uint8_t>(10 * i + j));
  }
  data.back() = 255;
  return idx_bytes(0x08, {3, 2, 3}, data);
}

void expect_image(const Batch& b, int64_t k, int image) {
  for (int j = 0; j < 6; ++j) {
    const float want = image == 2 && j == 5 ? 255.0f : static_cast<float>(10 * image + j);
    EXPECT_EQ(b.images.data[static_cast<size_t>(k * 6 + j)], want) << "image " << image;
  }
}

TEST(Idx, RawImagesAndLabelsReadBackExactly) {
  TempDir dir;
  write_file(dir.file("img"), three_images());
  write_file(dir.file("lbl"), idx_bytes(0x08, {3}, {7, 0, 255}));
  auto ds = open_dataset("idx:" + dir.file("img") + "," + dir.file("lbl"), identity());
  EXPECT_EQ(ds->size(), 3);
  EXPECT_TRUE(ds->has_labels());
  EXPECT_EQ(ds->image_shape(), (Shape{1, 2, 3}));
  const Batch all = ds->read(0, 3);
  EXPECT_EQ(all.images.shape, (Shape{3, 1, 2, 3}));
  for (int i = 0; i < 3; ++i) expect_image(all, i, i);
  EXPECT_EQ(all.labels, (std::vector<int64_t>{7, 0, 255}));
  const Batch mid = ds->read(1, 1);  // random access on a raw file
  expect_image(mid, 0, 1);
  EXPECT_EQ(mid.labels, (std::vector<int64_t>{0}));
  EXPECT_EQ(ds->read(3, 0).images.shape, (Shape{0, 1, 2, 3}));
}

TEST(Idx, LabelsAreOptional) {
  TempDir dir;
  write_file(dir.file("img"), three_images());
  auto ds = open_dataset("idx:" + dir.file("img"), identity());
  EXPECT_FALSE(ds->has_labels());
  EXPECT_TRUE(ds->read(0, 2).labels.empty());
}

TEST(Idx, SlicesFollowPython) {
  TempDir dir;
  write_file(dir.file("img"), three_images());
  write_file(dir.file("lbl"), idx_bytes(0x08, {3}, {4, 5, 6}));
  const std::string base = "idx:" + dir.file("img") + "," + dir.file("lbl");
  struct Case {
    std::string slice;
    std::vector<int> images;
  };
  for (const Case& c : std::vector<Case>{{"[1:]", {1, 2}},
                                         {"[:-1]", {0, 1}},
                                         {"[-2:]", {1, 2}},
                                         {"[-100:1]", {0}},
                                         {"[2:100]", {2}},
                                         {"[2:1]", {}},
                                         {"[:]", {0, 1, 2}},
                                         {"[5:]", {}}}) {
    auto ds = open_dataset(base + c.slice, identity());
    ASSERT_EQ(ds->size(), static_cast<int64_t>(c.images.size())) << c.slice;
    const Batch b = ds->read(0, ds->size());
    for (size_t k = 0; k < c.images.size(); ++k) {
      expect_image(b, static_cast<int64_t>(k), c.images[k]);
      EXPECT_EQ(b.labels[k], 4 + c.images[k]) << c.slice;
    }
  }
}

TEST(Idx, GzipStreamsForwardAndRestartsOnlyBackwards) {
  TempDir dir;
  write_gz(dir.file("img.gz"), three_images());
  write_gz(dir.file("lbl.gz"), idx_bytes(0x08, {3}, {1, 2, 3}));
  const int64_t starts0 = gz_stream_starts();
  auto ds = open_dataset("idx:" + dir.file("img.gz") + "," + dir.file("lbl.gz"), identity());
  const int64_t starts1 = gz_stream_starts();
  EXPECT_EQ(starts1 - starts0, 2);  // images (kept open) + labels (read whole)
  expect_image(ds->read(0, 1), 0, 0);
  expect_image(ds->read(2, 1), 0, 2);  // skips image 1 forward
  EXPECT_EQ(gz_stream_starts(), starts1);
  const Batch back = ds->read(1, 2);  // backwards: one restart
  expect_image(back, 0, 1);
  expect_image(back, 1, 2);
  EXPECT_EQ(back.labels, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(gz_stream_starts(), starts1 + 1);
}

TEST(Idx, WideLabelTypes) {
  TempDir dir;
  write_file(dir.file("img"), three_images());
  // int32 big-endian: 1, 70000, 2147483647.
  write_file(dir.file("lbl32"),
             idx_bytes(0x0C, {3}, {0, 0, 0, 1, 0, 1, 0x11, 0x70, 0x7f, 0xff, 0xff, 0xff}));
  auto ds = open_dataset("idx:" + dir.file("img") + "," + dir.file("lbl32"), identity());
  EXPECT_EQ(ds->read(0, 3).labels, (std::vector<int64_t>{1, 70000, 2147483647}));

  write_file(dir.file("neg"),
             idx_bytes(0x0C, {3}, {0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfd, 0, 0, 0, 0}));
  expect_error([&] { (void)open_dataset("idx:" + dir.file("img") + "," + dir.file("neg"), {}); },
               ErrorKind::InvalidData, {dir.file("neg"), "label 1 is -3"});
  write_file(dir.file("neg8"), idx_bytes(0x09, {3}, {0, 0x80, 0}));
  expect_error([&] { (void)open_dataset("idx:" + dir.file("img") + "," + dir.file("neg8"), {}); },
               ErrorKind::InvalidData, {dir.file("neg8"), "label 1 is -128"});
}

TEST(Idx, TruncatedRawFileIsRejectedAtOpen) {
  TempDir dir;
  Bytes b = three_images();
  b.resize(b.size() - 1);
  write_file(dir.file("img"), b);
  expect_error([&] { (void)open_dataset("idx:" + dir.file("img"), {}); }, ErrorKind::InvalidData,
               {dir.file("img"), "truncated", "3x2x3", "34 bytes", "33 bytes"});
  write_file(dir.file("hdr"), Bytes{0, 0, 8, 3, 0, 0, 0});
  expect_error([&] { (void)open_dataset("idx:" + dir.file("hdr"), {}); }, ErrorKind::InvalidData,
               {dir.file("hdr"), "truncated IDX header"});
}

TEST(Idx, TrailingBytesAreRejected) {
  TempDir dir;
  Bytes b = three_images();
  b.push_back(0);
  write_file(dir.file("img"), b);
  expect_error([&] { (void)open_dataset("idx:" + dir.file("img"), {}); }, ErrorKind::InvalidData,
               {dir.file("img"), "1 trailing"});
}

TEST(Idx, TruncatedGzipIsRejectedWhenRead) {
  TempDir dir;
  Bytes b = three_images();
  b.resize(b.size() - 4);  // the last image is short
  write_gz(dir.file("img.gz"), b);
  auto ds = open_dataset("idx:" + dir.file("img.gz"), identity());
  expect_image(ds->read(0, 2), 1, 1);
  expect_error([&] { (void)ds->read(2, 1); }, ErrorKind::InvalidData,
               {dir.file("img.gz"), "truncated IDX (gzip) data"});

  // A gzip stream cut in the middle of the compressed bytes.
  Bytes big;
  for (int i = 0; i < 5000; ++i) big.push_back(static_cast<uint8_t>((i * 7919) % 251));
  write_gz(dir.file("full.gz"), idx_bytes(0x08, {50, 10, 10}, big));
  Bytes gz = testing::read_file(dir.file("full.gz"));
  gz.resize(gz.size() / 2);
  write_file(dir.file("cut.gz"), gz);
  auto cut = open_dataset("idx:" + dir.file("cut.gz"), identity());
  expect_error([&] { (void)cut->read(0, 50); }, ErrorKind::InvalidData, {dir.file("cut.gz")});
}

TEST(Idx, CorruptGzipIsInvalidData) {
  TempDir dir;
  write_gz(dir.file("img.gz"), three_images());
  Bytes gz = testing::read_file(dir.file("img.gz"));
  for (size_t i = 10; i + 8 < gz.size(); ++i) gz[i] = 0xff;  // destroy the deflate stream
  write_file(dir.file("bad.gz"), gz);
  expect_error([&] { (void)open_dataset("idx:" + dir.file("bad.gz"), {})->read(0, 3); },
               ErrorKind::InvalidData, {dir.file("bad.gz")});
}

TEST(Idx, BadHeadersAreInvalidData) {
  TempDir dir;
  write_file(dir.file("magic"), Bytes{1, 2, 8, 3, 0, 0, 0, 0});
  expect_error([&] { (void)open_dataset("idx:" + dir.file("magic"), {}); }, ErrorKind::InvalidData,
               {dir.file("magic"), "bad IDX magic", "0x01 0x02"});
  Bytes noise;
  for (int i = 0; i < 100; ++i) noise.push_back(static_cast<uint8_t>(37 * i + 11));
  write_file(dir.file("noise"), noise);
  expect_error([&] { (void)open_dataset("idx:" + dir.file("noise"), {}); }, ErrorKind::InvalidData,
               {dir.file("noise"), "bad IDX magic"});
  write_file(dir.file("dtype"), idx_bytes(0x07, {1}, {0}));
  expect_error([&] { (void)open_dataset("idx:" + dir.file("dtype"), {}); }, ErrorKind::InvalidData,
               {dir.file("dtype"), "dtype code 0x07"});
  write_file(dir.file("float"), idx_bytes(0x0D, {1, 1, 1}, {0, 0, 0, 0}));
  expect_error([&] { (void)open_dataset("idx:" + dir.file("float"), {}); }, ErrorKind::InvalidData,
               {dir.file("float"), "float32", "expected 0x08"});
  write_file(dir.file("rank"), idx_bytes(0x08, {2, 2}, {0, 0, 0, 0}));
  expect_error([&] { (void)open_dataset("idx:" + dir.file("rank"), {}); }, ErrorKind::InvalidData,
               {dir.file("rank"), "2 dimensions", "expected 3"});
  write_file(dir.file("big"), idx_bytes(0x08, {0xffffffff, 0xffffffff, 0xffffffff}, {}));
  expect_error([&] { (void)open_dataset("idx:" + dir.file("big"), {}); }, ErrorKind::InvalidData,
               {dir.file("big"), "overflow"});
  write_gz(dir.file("huge.gz"), idx_bytes(0x08, {1, 65536, 65536}, {}));
  expect_error([&] { (void)open_dataset("idx:" + dir.file("huge.gz"), {}); },
               ErrorKind::InvalidData, {dir.file("huge.gz"), "65536x65536"});
  write_file(dir.file("empty"), {});
  expect_error([&] { (void)open_dataset("idx:" + dir.file("empty"), {}); }, ErrorKind::InvalidData,
               {dir.file("empty"), "not an IDX file"});
}

TEST(Idx, CountMismatchNamesBothFiles) {
  TempDir dir;
  write_file(dir.file("img"), three_images());
  write_file(dir.file("lbl"), idx_bytes(0x08, {2}, {1, 2}));
  expect_error([&] { (void)open_dataset("idx:" + dir.file("img") + "," + dir.file("lbl"), {}); },
               ErrorKind::InvalidData, {dir.file("img"), dir.file("lbl"), "3 images", "2 labels"});
  write_file(dir.file("lbl2d"), idx_bytes(0x08, {3, 1}, {1, 2, 3}));
  expect_error([&] { (void)open_dataset("idx:" + dir.file("img") + "," + dir.file("lbl2d"), {}); },
               ErrorKind::InvalidData, {dir.file("lbl2d"), "expected 1"});
}

TEST(Idx, MissingFileIsIo) {
  TempDir dir;
  expect_error([&] { (void)open_dataset("idx:" + dir.file("nope"), {}); }, ErrorKind::Io,
               {dir.file("nope") + ": cannot open: No such file or directory"});
  write_file(dir.file("img"), three_images());
  expect_error([&] { (void)open_dataset("idx:" + dir.file("img") + "," + dir.file("nol"), {}); },
               ErrorKind::Io, {dir.file("nol") + ": cannot open"});
  expect_error([&] { (void)open_dataset("idx:" + dir.path(), {}); }, ErrorKind::Io,
               {dir.path() + ": cannot open: Is a directory"});
}

}  // namespace
}  // namespace gammaq::data
