// Preprocessing: bilinear resize checked by hand, the normalization formula, option checks and
// the gammaq.preprocess JSON.
#include <gtest/gtest.h>

#include "data/readers.h"
#include "data_test_util.h"
#include "gammaq/dataset.h"

namespace gammaq::data {
namespace {

using testing::expect_error;
using testing::idx_bytes;
using testing::TempDir;
using testing::write_file;

TEST(Resize, TwoByTwoToFourByFourByHand) {
  // Half-pixel centers, scale 1/2: output columns sample x = -0.25 (clamped to 0), 0.25, 0.75,
  // 1.25 (clamped to 1), i.e. weights (1,0) (.75,.25) (.25,.75) (0,1); rows likewise.
  // Input [[0, 40], [80, 120]]: row 0 -> 0 10 30 40, row 1 -> 80 90 110 120, then mix rows.
  const std::vector<float> in = {0, 40, 80, 120};
  std::vector<float> out(16);
  resize_bilinear(in, 1, 2, 2, out, 4, 4);
  EXPECT_EQ(out, (std::vector<float>{0, 10, 30, 40,    //
                                     20, 30, 50, 60,   //
                                     60, 70, 90, 100,  //
                                     80, 90, 110, 120}));
}

TEST(Resize, DownscaleAndOddRatiosByHand) {
  // 4x4 -> 2x2: samples at 0.5 and 2.5 average pairs; v[y][x] = 40y + 10x.
  std::vector<float> in;
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 4; ++x) in.push_back(40.0f * y + 10.0f * x);
  }
  std::vector<float> out(4);
  resize_bilinear(in, 1, 4, 4, out, 2, 2);
  EXPECT_EQ(out, (std::vector<float>{25, 45, 105, 125}));
  // 1x3 -> 1x2: x = 0.25 and 1.75: 0.75*0 + 0.25*40 = 10, 0.25*40 + 0.75*80 = 70.
  std::vector<float> row(2);
  resize_bilinear(std::vector<float>{0, 40, 80}, 1, 1, 3, row, 1, 2);
  EXPECT_EQ(row, (std::vector<float>{10, 70}));
  // Two planes are resized independently; same size is the identity.
  std::vector<float> planes = {0, 40, 80, 120, 7, 7, 7, 7};
  std::vector<float> up(32);
  resize_bilinear(planes, 2, 2, 2, up, 4, 4);
  EXPECT_EQ(up[5], 30.0f);
  EXPECT_EQ(std::vector<float>(up.begin() + 16, up.end()), std::vector<float>(16, 7.0f));
  std::vector<float> same(8);
  resize_bilinear(planes, 2, 2, 2, same, 2, 2);
  EXPECT_EQ(same, planes);
}

TEST(Preprocess, FormulaPerChannelThroughADataset) {
  TempDir dir;
  write_file(dir.file("img"), idx_bytes(0x08, {1, 1, 2}, {51, 255}));
  Preprocess pre;
  pre.scale = 1.0 / 255.0;
  pre.mean = {0.485f, 0.456f, 0.406f};
  pre.std = {0.229f, 0.224f, 0.225f};
  pre.channels = Channels::Rgb;  // gray replicated
  auto ds = open_dataset("idx:" + dir.file("img"), pre);
  EXPECT_EQ(ds->image_shape(), (Shape{3, 1, 2}));
  const Batch b = ds->read(0, 1);
  std::vector<float> want;
  for (size_t c = 0; c < 3; ++c) {
    for (double p : {51.0, 255.0}) {
      want.push_back(
          static_cast<float>((p * pre.scale - double{pre.mean[c]}) / double{pre.std[c]}));
    }
  }
  EXPECT_EQ(b.images.data, want);
  EXPECT_NEAR(b.images.data[0], (0.2 - 0.485) / 0.229, 1e-6);

  // One mean/std for all channels; size given: 1x2 -> 2x4.
  Preprocess one;
  one.scale = 0.5;
  one.mean = {10};
  one.std = {2};
  one.height = 2;
  one.width = 4;
  const Batch r = open_dataset("idx:" + dir.file("img"), one)->read(0, 1);
  EXPECT_EQ(r.images.shape, (Shape{1, 1, 2, 4}));
  // Columns 51, 51*.75 + 255*.25, 51*.25 + 255*.75, 255 -> 51 102 204 255; x = (p/2 - 10)/2.
  const std::vector<float> row = {7.75f, 20.5f, 46.0f, 58.75f};
  std::vector<float> both = row;
  both.insert(both.end(), row.begin(), row.end());
  EXPECT_EQ(r.images.data, both);
}

TEST(Preprocess, BadOptionsAreInvalidOption) {
  TempDir dir;
  write_file(dir.file("img"), idx_bytes(0x08, {1, 1, 1}, {0}));
  struct Case {
    Preprocess pre;
    std::string expect;
  };
  std::vector<Case> cases(6);
  cases[0].pre.std = {0.0f};
  cases[0].expect = "std[0] is 0";
  cases[1].pre.mean = {1, 2};
  cases[1].expect = "mean has 2 values: expected 1 (channels gray)";
  cases[2].pre.channels = Channels::Rgb;
  cases[2].pre.std = {1, 1};
  cases[2].expect = "expected 1 or 3";
  cases[3].pre.height = -1;
  cases[3].expect = "size -1x0";
  cases[4].pre.scale = 0;
  cases[4].expect = "scale is 0";
  cases[5].pre.width = 100000;
  cases[5].expect = "each must be in [0, 16384]";
  for (const Case& c : cases) {
    expect_error([&] { (void)open_dataset("idx:" + dir.file("img"), c.pre); },
                 ErrorKind::InvalidOption, {"preprocess: ", c.expect});
  }
}

TEST(PreprocessJson, ParsesTheDesignExample) {
  const Preprocess p = parse_preprocess_json(
      R"({"scale": 0.00392156862745098, "mean": [0.5], "std": [0.5], "channels": "gray",
          "size": [28, 28]})");
  EXPECT_EQ(p.scale, 0.00392156862745098);
  EXPECT_EQ(p.mean, std::vector<float>{0.5f});
  EXPECT_EQ(p.std, std::vector<float>{0.5f});
  EXPECT_EQ(p.channels, Channels::Gray);
  EXPECT_EQ(p.height, 28);
  EXPECT_EQ(p.width, 28);

  const Preprocess bgr = parse_preprocess_json(
      R"({"channels": "bgr", "mean": [1, 2, 3], "std": [4, 5, 6], "size": [224, 200]})");
  EXPECT_EQ(bgr.channels, Channels::Bgr);
  EXPECT_EQ(bgr.mean, (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(bgr.std, (std::vector<float>{4, 5, 6}));
  EXPECT_EQ(bgr.height, 224);
  EXPECT_EQ(bgr.width, 200);
  EXPECT_EQ(bgr.scale, 1.0 / 255.0);  // default kept

  const Preprocess empty = parse_preprocess_json("{}");
  EXPECT_EQ(empty.height, 0);
  EXPECT_EQ(empty.channels, Channels::Gray);
}

TEST(PreprocessJson, ErrorsNameTheField) {
  struct Case {
    std::string json;
    std::string expect;
  };
  for (const Case& c : std::vector<Case>{
           {R"({"std": []})",
            "gammaq.preprocess: field 'std' must be a non-empty array of positive numbers"},
           {R"({"std": [1, -2]})", "field 'std' must be a non-empty array of positive numbers"},
           {R"({"std": 0.5})", "field 'std'"},
           {R"({"mean": ["a"]})", "field 'mean' must be a non-empty array of finite numbers"},
           {R"({"mean": [1e300]})", "field 'mean'"},
           {R"({"scale": -1})", "field 'scale' must be a positive number"},
           {R"({"scale": "1/255"})", "field 'scale'"},
           {R"({"channels": "hsv"})", "field 'channels' must be \"gray\", \"rgb\" or \"bgr\""},
           {R"({"channels": 3})", "field 'channels'"},
           {R"({"size": [28]})", "field 'size' must be [height, width]"},
           {R"({"size": [28, 0]})", "field 'size'"},
           {R"({"size": [28, 2.5]})", "field 'size'"},
           {R"({"size": [28, 18446744073709551615]})", "field 'size'"},
           {R"({"mean": [1, 2], "channels": "rgb"})", "field 'mean' has 2 values"},
           {R"({"stds": [1]})", "field 'stds' is unknown"},
           {R"([1, 2])", "gammaq.preprocess: expected a JSON object"},
           {"{\"scale\": \n", "gammaq.preprocess: not valid JSON"}}) {
    expect_error([&] { (void)parse_preprocess_json(c.json); }, ErrorKind::InvalidModel, {c.expect});
  }
}

}  // namespace
}  // namespace gammaq::data
