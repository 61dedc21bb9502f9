// folder:DIR datasets: class order, file order, PNG/JPEG decoding, channel conversion, errors.
#include <gtest/gtest.h>
#include <stb/stb_image_write.h>  // declarations only; the implementation is in libstb

#include <cmath>

#include "data/readers.h"
#include "data_test_util.h"
#include "gammaq/dataset.h"

namespace gammaq::data {
namespace {

using testing::Bytes;
using testing::expect_error;
using testing::TempDir;
using testing::write_file;

Preprocess identity(Channels c = Channels::Gray) {
  Preprocess p;
  p.scale = 1.0;
  p.channels = c;
  return p;
}

// Writes a w x h PNG with `comp` interleaved channels.
void write_png(const std::string& path, int w, int h, int comp, const Bytes& pixels) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  ASSERT_EQ(pixels.size(), static_cast<size_t>(w * h * comp));
  ASSERT_NE(stbi_write_png(path.c_str(), w, h, comp, pixels.data(), w * comp), 0) << path;
}

// dog/ (class 1) is created first; cat/ (class 0) sorts first.
void make_two_classes(const TempDir& dir) {
  write_png(dir.file("dog/z.png"), 2, 1, 1, {200, 201});
  write_png(dir.file("cat/b.PNG"), 2, 1, 1, {10, 11});
  write_png(dir.file("cat/a.png"), 2, 1, 1, {0, 1});
  write_file(dir.file("cat/notes.txt"), {'h', 'i'});
  write_file(dir.file("cat/.hidden.png"), {1, 2, 3});
  write_file(dir.file("readme.png"), {1, 2, 3});  // not in a class folder
  std::filesystem::create_directories(dir.file(".git/x"));
}

TEST(Folder, ClassesAndFilesAreSorted) {
  TempDir dir;
  make_two_classes(dir);
  const FolderListing l = list_image_folder(dir.path());
  EXPECT_EQ(l.classes, (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(l.files, (std::vector<std::string>{dir.file("cat/a.png"), dir.file("cat/b.PNG"),
                                               dir.file("dog/z.png")}));
  EXPECT_EQ(l.labels, (std::vector<int64_t>{0, 0, 1}));

  auto ds = open_dataset("folder:" + dir.path(), identity());
  EXPECT_EQ(ds->size(), 3);
  EXPECT_TRUE(ds->has_labels());
  EXPECT_EQ(ds->image_shape(), (Shape{1, 1, 2}));
  const Batch b = ds->read(0, 3);
  EXPECT_EQ(b.images.data, (std::vector<float>{0, 1, 10, 11, 200, 201}));
  EXPECT_EQ(b.labels, (std::vector<int64_t>{0, 0, 1}));
  const Batch tail = open_dataset("folder:" + dir.path() + "[-1:]", identity())->read(0, 1);
  EXPECT_EQ(tail.images.data, (std::vector<float>{200, 201}));
  EXPECT_EQ(tail.labels, (std::vector<int64_t>{1}));
}

TEST(Folder, ChannelConversions) {
  TempDir dir;
  // One RGB pixel (r, g, b) = (100, 50, 20) and one gray pixel 7.
  write_png(dir.file("a/rgb.png"), 1, 1, 3, {100, 50, 20});
  write_png(dir.file("a/gray.png"), 1, 1, 1, {7});
  write_png(dir.file("a/rgba.png"), 1, 1, 4, {1, 2, 3, 0});  // alpha dropped
  const std::string spec = "folder:" + dir.path();
  // Files sort as gray, rgb, rgba.
  const Batch gray = open_dataset(spec, identity(Channels::Gray))->read(0, 3);
  const float luma = static_cast<float>(0.299 * 100 + 0.587 * 50 + 0.114 * 20);  // BT.601
  EXPECT_EQ(gray.images.data,
            (std::vector<float>{7, luma, static_cast<float>(0.299 * 1 + 0.587 * 2 + 0.114 * 3)}));
  const Batch rgb = open_dataset(spec, identity(Channels::Rgb))->read(0, 3);
  EXPECT_EQ(rgb.images.shape, (Shape{3, 3, 1, 1}));
  EXPECT_EQ(rgb.images.data, (std::vector<float>{7, 7, 7, 100, 50, 20, 1, 2, 3}));
  const Batch bgr = open_dataset(spec, identity(Channels::Bgr))->read(0, 3);
  EXPECT_EQ(bgr.images.data, (std::vector<float>{7, 7, 7, 20, 50, 100, 3, 2, 1}));
}

TEST(Folder, DecodesJpeg) {
  TempDir dir;
  const std::string path = dir.file("c/flat.jpg");
  std::filesystem::create_directories(dir.file("c"));
  const Bytes flat(8 * 8, 128);
  ASSERT_NE(stbi_write_jpg(path.c_str(), 8, 8, 1, flat.data(), 95), 0);
  const Batch b = open_dataset("folder:" + dir.path(), identity())->read(0, 1);
  ASSERT_EQ(b.images.shape, (Shape{1, 1, 8, 8}));
  for (float v : b.images.data) EXPECT_NEAR(v, 128.0f, 2.0f);  // JPEG is lossy
}

TEST(Folder, CorruptImageNamesTheFile) {
  TempDir dir;
  write_png(dir.file("a/a.png"), 1, 1, 1, {5});
  write_file(dir.file("a/x.png"), {0x89, 'P', 'N', 'G', 1, 2, 3});
  auto ds = open_dataset("folder:" + dir.path(), identity());
  EXPECT_EQ(ds->read(0, 1).images.data, (std::vector<float>{5}));
  expect_error([&] { (void)ds->read(1, 1); }, ErrorKind::InvalidData,
               {dir.file("a/x.png") + ": cannot decode image (stb_image: "});
  // As the first image it already fails at open.
  TempDir other;
  write_file(other.file("k/0.jpg"), {1, 2, 3});
  expect_error([&] { (void)open_dataset("folder:" + other.path(), identity()); },
               ErrorKind::InvalidData, {other.file("k/0.jpg") + ": cannot decode image"});
}

TEST(Folder, SizesMustAgreeUnlessResized) {
  TempDir dir;
  write_png(dir.file("a/0.png"), 2, 2, 1, {0, 40, 80, 120});
  write_png(dir.file("a/1.png"), 1, 1, 1, {9});
  auto ds = open_dataset("folder:" + dir.path(), identity());
  EXPECT_EQ(ds->image_shape(), (Shape{1, 2, 2}));
  expect_error([&] { (void)ds->read(0, 2); }, ErrorKind::InvalidData,
               {dir.file("a/1.png"), "image is 1x1, expected 2x2"});
  Preprocess resize = identity();
  resize.height = 4;
  resize.width = 4;
  auto resized = open_dataset("folder:" + dir.path(), resize);
  EXPECT_EQ(resized->image_shape(), (Shape{1, 4, 4}));
  const Batch b = resized->read(0, 2);
  // The 2x2 -> 4x4 case of preprocess_test, then a 1x1 image replicated.
  EXPECT_EQ(std::vector<float>(b.images.data.begin(), b.images.data.begin() + 16),
            (std::vector<float>{0, 10, 30, 40, 20, 30, 50, 60, 60, 70, 90, 100, 80, 90, 110, 120}));
  EXPECT_EQ(std::vector<float>(b.images.data.begin() + 16, b.images.data.end()),
            std::vector<float>(16, 9.0f));
}

// A folder with no class sub-folders holding images: its own images, unlabelled.
TEST(Folder, FlatFolderIsUnlabelled) {
  TempDir dir;
  write_png(dir.file("b.png"), 1, 1, 1, {20});
  write_png(dir.file("a.jpg.png"), 1, 1, 1, {10});
  std::filesystem::create_directories(dir.file("empty"));
  auto ds = open_dataset("folder:" + dir.path(), identity());
  EXPECT_EQ(ds->size(), 2);
  EXPECT_FALSE(ds->has_labels());
  const Batch b = ds->read(0, 2);
  EXPECT_EQ(b.images.data, (std::vector<float>{10, 20}));
  EXPECT_TRUE(b.labels.empty());
}

// skip_bad: every file decoded at open, the ones that fail left out and counted in notes().
TEST(Folder, SkipBadLeavesOutAndCountsUndecodableImages) {
  TempDir dir;
  write_png(dir.file("a/0.png"), 1, 1, 1, {5});
  write_file(dir.file("a/1.png"), {0x89, 'P', 'N', 'G', 1, 2, 3});
  write_png(dir.file("b/2.png"), 1, 1, 1, {7});
  Preprocess p = identity();
  p.skip_bad = true;
  auto ds = open_dataset("folder:" + dir.path(), p);
  EXPECT_EQ(ds->size(), 2);
  const Batch b = ds->read(0, 2);
  EXPECT_EQ(b.images.data, (std::vector<float>{5, 7}));
  EXPECT_EQ(b.labels, (std::vector<int64_t>{0, 1}));
  ASSERT_EQ(ds->notes().size(), 1u);
  EXPECT_NE(ds->notes()[0].find("skipped 1 of 3"), std::string::npos) << ds->notes()[0];
  EXPECT_NE(ds->notes()[0].find(dir.file("a/1.png")), std::string::npos) << ds->notes()[0];
  EXPECT_TRUE(open_dataset("folder:" + dir.path(), identity())->notes().empty());
}

// ImageNet-style: the shorter side resized, then the centre crop (torchvision's rules).
TEST(Folder, ResizeShorterSideThenCentreCrop) {
  TempDir dir;
  write_png(dir.file("a/0.png"), 4, 2, 1, {0, 10, 20, 30, 40, 50, 60, 70});  // 2 x 4
  Preprocess crop = identity();
  crop.crop_h = crop.crop_w = 2;  // left = round((4 - 2) / 2) = 1
  auto c = open_dataset("folder:" + dir.path(), crop);
  EXPECT_EQ(c->image_shape(), (Shape{1, 2, 2}));
  EXPECT_EQ(c->read(0, 1).images.data, (std::vector<float>{10, 20, 50, 60}));
  Preprocess shrink = identity();
  shrink.resize = 1;  // 2 x 4 -> 1 x floor(4 * 1 / 2) = 1 x 2
  EXPECT_EQ(open_dataset("folder:" + dir.path(), shrink)->image_shape(), (Shape{1, 1, 2}));
  TempDir sq;
  write_png(sq.file("a/0.png"), 2, 2, 1, {0, 40, 80, 120});
  Preprocess both = identity();
  both.resize = 4;                // the 2x2 -> 4x4 case of SizesMustAgreeUnlessResized
  both.crop_h = both.crop_w = 2;  // top = left = 1
  EXPECT_EQ(open_dataset("folder:" + sq.path(), both)->read(0, 1).images.data,
            (std::vector<float>{30, 50, 70, 90}));
  Preprocess big = identity();
  big.crop_h = big.crop_w = 3;
  expect_error([&] { (void)open_dataset("folder:" + sq.path(), big)->read(0, 1); },
               ErrorKind::InvalidData, {sq.file("a/0.png"), "smaller than the crop 3x3"});
}

TEST(Folder, EmptyOrMissingFolders) {
  TempDir dir;
  std::filesystem::create_directories(dir.file("empty_class"));
  expect_error([&] { (void)open_dataset("folder:" + dir.path(), {}); }, ErrorKind::InvalidData,
               {dir.path() + ": no images found"});
  expect_error([&] { (void)open_dataset("folder:" + dir.file("nope"), {}); }, ErrorKind::Io,
               {dir.file("nope") + ": cannot open: No such file or directory"});
  write_file(dir.file("plain"), {1});
  expect_error([&] { (void)open_dataset("folder:" + dir.file("plain"), {}); }, ErrorKind::Io,
               {dir.file("plain") + ": cannot open: Not a directory"});
}

}  // namespace
}  // namespace gammaq::data
