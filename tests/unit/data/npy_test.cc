// NPY datasets: float32 images used as they are, int32/int64 labels, versions 1-3, rejections.
#include <gtest/gtest.h>

#include <cmath>

#include "data/readers.h"
#include "data_test_util.h"
#include "gammaq/dataset.h"

namespace gammaq::data {
namespace {

using testing::Bytes;
using testing::expect_error;
using testing::le_bytes;
using testing::npy_dict;
using testing::npy_raw;
using testing::TempDir;
using testing::write_file;

// 3 images of 2x1x2: value 10*i + j + 0.25, and one NaN-free odd value.
std::vector<float> values() {
  std::vector<float> v;
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 4; ++j) v.push_back(10.0f * static_cast<float>(i) + j + 0.25f);
  }
  v[5] = -1.5e-7f;
  return v;
}

// values() from index `from` on.
std::vector<float> tail(size_t from) {
  const std::vector<float> v = values();
  return std::vector<float>(v.begin() + static_cast<std::ptrdiff_t>(from), v.end());
}

Bytes images_npy(int version = 1, const std::string& shape = "(3, 2, 1, 2)") {
  return npy_raw(npy_dict("<f4", shape), le_bytes(values()), version);
}

TEST(Npy, FloatImagesAndInt64LabelsReadBackExactly) {
  TempDir dir;
  write_file(dir.file("x.npy"), images_npy());
  write_file(dir.file("y.npy"), npy_raw(npy_dict("<i8", "(3,)"), le_bytes<int64_t>({2, 0, 9})));
  Preprocess ignored;  // npy data are not preprocessed
  ignored.scale = 1000;
  ignored.height = 7;
  auto ds = open_dataset("npy:" + dir.file("x.npy") + "," + dir.file("y.npy"), ignored);
  EXPECT_EQ(ds->size(), 3);
  EXPECT_TRUE(ds->has_labels());
  EXPECT_EQ(ds->image_shape(), (Shape{2, 1, 2}));
  const Batch b = ds->read(0, 3);
  EXPECT_EQ(b.images.shape, (Shape{3, 2, 1, 2}));
  EXPECT_EQ(b.images.data, values());
  EXPECT_EQ(b.labels, (std::vector<int64_t>{2, 0, 9}));
  const Batch last = ds->read(2, 1);
  EXPECT_EQ(last.images.data, tail(8));
  EXPECT_EQ(last.labels, (std::vector<int64_t>{9}));
}

TEST(Npy, Int32LabelsAndRank3Images) {
  TempDir dir;
  write_file(dir.file("x.npy"), images_npy(1, "(3, 2, 2)"));
  write_file(dir.file("y.npy"), npy_raw(npy_dict("<i4", "(3,)"), le_bytes<int32_t>({5, 6, 7})));
  auto ds = open_dataset("npy:" + dir.file("x.npy") + "," + dir.file("y.npy"), {});
  EXPECT_EQ(ds->image_shape(), (Shape{1, 2, 2}));
  const Batch b = ds->read(1, 2);
  EXPECT_EQ(b.images.shape, (Shape{2, 1, 2, 2}));
  EXPECT_EQ(b.images.data, tail(4));
  EXPECT_EQ(b.labels, (std::vector<int64_t>{6, 7}));
}

TEST(Npy, Versions2And3AndSlices) {
  TempDir dir;
  for (int version : {2, 3}) {
    write_file(dir.file("x.npy"), images_npy(version));
    auto ds = open_dataset("npy:" + dir.file("x.npy") + "[-2:]", {});
    EXPECT_FALSE(ds->has_labels());
    ASSERT_EQ(ds->size(), 2) << version;
    EXPECT_EQ(ds->read(0, 2).images.data, tail(4));
  }
}

TEST(Npy, HeaderParserAcceptsNumpyVariants) {
  const NpyHeader h = parse_npy_header(
      npy_raw("{\"shape\":(4,3,2,1),\"fortran_order\":False,\"descr\":\"<f4\"}", {}), "h.npy");
  EXPECT_EQ(h.descr, "<f4");
  EXPECT_FALSE(h.fortran_order);
  EXPECT_EQ(h.shape, (std::vector<int64_t>{4, 3, 2, 1}));
  EXPECT_EQ(h.data_offset, 128);  // 10 + 57 + padding to 64
  const NpyHeader scalar = parse_npy_header(npy_raw(npy_dict("<i8", "()", true), {}, 2), "s");
  EXPECT_TRUE(scalar.fortran_order);
  EXPECT_TRUE(scalar.shape.empty());
  EXPECT_EQ(scalar.data_offset, 128);
}

TEST(Npy, RejectsUnsupportedDtypesAndLayouts) {
  TempDir dir;
  struct Case {
    std::string dict;
    std::string expect;
  };
  for (const Case& c : std::vector<Case>{
           {npy_dict("<f8", "(3, 2, 1, 2)"), "'<f8' not supported"},
           {npy_dict(">f4", "(3, 2, 1, 2)"), "big-endian"},
           {npy_dict("<f4", "(3, 2, 1, 2)", true), "fortran_order is True"},
           {npy_dict("<f4", "(12,)"), "expected (N, C, H, W) or (N, H, W)"},
           {npy_dict("<f4", "(3, 0, 1, 2)"), "each image must hold"},
           {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,)}", "structured"},
           {"{'descr': '<f4', 'fortran_order': False}", "missing key"},
           {"{'descr': '<f4', 'fortran_order': Maybe, 'shape': (3,)}", "True or False"},
           {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}",
            "overflows"},
           {"{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2", "expected"},
           {"{'descr': '<f4', 'colour': 'red'}", "unexpected key 'colour'"}}) {
    write_file(dir.file("x.npy"), npy_raw(c.dict, le_bytes(values())));
    expect_error([&] { (void)open_dataset("npy:" + dir.file("x.npy"), {}); },
                 ErrorKind::InvalidData, {dir.file("x.npy"), c.expect});
  }
}

TEST(Npy, RejectsBadFiles) {
  TempDir dir;
  Bytes b = images_npy();
  b.resize(b.size() - 3);
  write_file(dir.file("short.npy"), b);
  expect_error([&] { (void)open_dataset("npy:" + dir.file("short.npy"), {}); },
               ErrorKind::InvalidData,
               {dir.file("short.npy"), "truncated NPY file", "176 bytes", "173 bytes"});
  b = images_npy();
  b.push_back(0);
  write_file(dir.file("long.npy"), b);
  expect_error([&] { (void)open_dataset("npy:" + dir.file("long.npy"), {}); },
               ErrorKind::InvalidData, {dir.file("long.npy"), "177 bytes"});
  write_file(dir.file("magic.npy"), Bytes(100, 'x'));
  expect_error([&] { (void)open_dataset("npy:" + dir.file("magic.npy"), {}); },
               ErrorKind::InvalidData, {dir.file("magic.npy"), "not an NPY file"});
  b = images_npy();
  b.resize(40);
  write_file(dir.file("hdr.npy"), b);
  expect_error([&] { (void)open_dataset("npy:" + dir.file("hdr.npy"), {}); },
               ErrorKind::InvalidData, {dir.file("hdr.npy"), "truncated NPY header"});
  Bytes huge = {0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 0, 0, 0x20, 0};  // 2 MiB header
  write_file(dir.file("huge.npy"), huge);
  expect_error([&] { (void)open_dataset("npy:" + dir.file("huge.npy"), {}); },
               ErrorKind::InvalidData, {dir.file("huge.npy"), "limit"});
  Bytes v9 = images_npy();
  v9[6] = 9;
  write_file(dir.file("v9.npy"), v9);
  expect_error([&] { (void)open_dataset("npy:" + dir.file("v9.npy"), {}); }, ErrorKind::InvalidData,
               {dir.file("v9.npy"), "version 9.0"});
  expect_error([&] { (void)open_dataset("npy:" + dir.file("none.npy"), {}); }, ErrorKind::Io,
               {dir.file("none.npy") + ": cannot open: No such file or directory"});
}

TEST(Npy, RejectsBadLabels) {
  TempDir dir;
  write_file(dir.file("x.npy"), images_npy());
  const std::string x = dir.file("x.npy");
  const std::string y = dir.file("y.npy");
  auto open = [&] { (void)open_dataset("npy:" + x + "," + y, {}); };
  write_file(y, npy_raw(npy_dict("<i8", "(2,)"), le_bytes<int64_t>({1, 2})));
  expect_error(open, ErrorKind::InvalidData, {x, y, "3 images", "2 labels"});
  write_file(y, npy_raw(npy_dict("<f4", "(3,)"), le_bytes<float>({1, 2, 3})));
  expect_error(open, ErrorKind::InvalidData, {y, "'<f4' not supported"});
  write_file(y, npy_raw(npy_dict("<i8", "(3, 1)"), le_bytes<int64_t>({1, 2, 3})));
  expect_error(open, ErrorKind::InvalidData, {y, "expected (N,)"});
  write_file(y, npy_raw(npy_dict("<i8", "(3,)"), le_bytes<int64_t>({1, -4, 3})));
  expect_error(open, ErrorKind::InvalidData, {y, "label 1 is -4", "[0, 2^31)"});
  write_file(y, npy_raw(npy_dict("<i8", "(3,)"), le_bytes<int64_t>({1, 2, int64_t{1} << 31})));
  expect_error(open, ErrorKind::InvalidData, {y, "label 2 is 2147483648"});
  write_file(y, npy_raw(npy_dict("<i4", "(3,)"), le_bytes<int32_t>({1, 2})));
  expect_error(open, ErrorKind::InvalidData, {y, "truncated NPY file"});
}

}  // namespace
}  // namespace gammaq::data
