// SPEC strings and python slice semantics.
#include <gtest/gtest.h>

#include "data/readers.h"
#include "data_test_util.h"
#include "gammaq/dataset.h"

namespace gammaq::data {
namespace {

using testing::expect_error;

TEST(Spec, ParsesEverySchemeAndSlice) {
  DataSpec s = parse_data_spec("fashion-mnist:test");
  EXPECT_EQ(s.scheme, "fashion-mnist");
  EXPECT_EQ(s.images, "test");
  EXPECT_FALSE(s.slice.has_value());

  s = parse_data_spec("idx:/a/img.gz,/b/lbl.gz[10:-5]");
  EXPECT_EQ(s.scheme, "idx");
  EXPECT_EQ(s.images, "/a/img.gz");
  EXPECT_EQ(s.labels, "/b/lbl.gz");
  ASSERT_TRUE(s.slice.has_value());
  EXPECT_EQ(s.slice->start, 10);
  EXPECT_EQ(s.slice->stop, -5);

  s = parse_data_spec("npy:x.npy[:+3]");
  EXPECT_EQ(s.images, "x.npy");
  EXPECT_TRUE(s.labels.empty());
  EXPECT_FALSE(s.slice->start.has_value());
  EXPECT_EQ(s.slice->stop, 3);

  s = parse_data_spec("folder:data/my dir:with colon[:]");
  EXPECT_EQ(s.scheme, "folder");
  EXPECT_EQ(s.images, "data/my dir:with colon");
  EXPECT_FALSE(s.slice->start.has_value());
  EXPECT_FALSE(s.slice->stop.has_value());
}

TEST(Spec, MalformedSpecsAreInvalidOption) {
  struct Case {
    std::string spec;
    std::string expect;
  };
  for (const Case& c : std::vector<Case>{{"cifar:train", "unknown scheme 'cifar'"},
                                         {"train.idx", "missing scheme"},
                                         {"idx:", "empty path"},
                                         {"npy:[1:2]", "empty path"},
                                         {"idx:a,", "empty labels path"},
                                         {"fashion-mnist:val", "expected train or test"},
                                         {"idx:a[1]", "bad slice '[1]'"},
                                         {"idx:a[1:2:3]", "expected [a:b]"},
                                         {"idx:a[x:2]", "bad slice bound 'x'"},
                                         {"idx:a[1:-]", "bad slice bound '-'"},
                                         {"idx:a[1.5:]", "bad slice bound"},
                                         {"idx:a[99999999999999999999:]", "bad slice bound"},
                                         {"idx:a]", "unmatched ']'"},
                                         {"idx:a[1:2", "unterminated '['"}}) {
    expect_error([&] { (void)parse_data_spec(c.spec); }, ErrorKind::InvalidOption,
                 {"data spec '" + c.spec + "'", c.expect});
    expect_error([&] { (void)open_dataset(c.spec, {}); }, ErrorKind::InvalidOption, {c.spec});
  }
}

TEST(Spec, SlicesResolveLikePython) {
  // Expected values are python's range(10)[a:b] and range(0)[a:b].
  struct Case {
    std::optional<int64_t> start, stop;
    int64_t n, begin, end;
  };
  for (const Case& c : std::vector<Case>{{{}, {}, 10, 0, 10},
                                         {2, 5, 10, 2, 5},
                                         {-3, {}, 10, 7, 10},
                                         {{}, -3, 10, 0, 7},
                                         {-30, 4, 10, 0, 4},
                                         {4, 30, 10, 4, 10},
                                         {7, 3, 10, 7, 7},
                                         {12, 15, 10, 10, 10},
                                         {-1, -2, 10, 9, 9},
                                         {INT64_MIN + 1, INT64_MAX, 10, 0, 10},
                                         {1, 2, 0, 0, 0}}) {
    const Range r = resolve_slice(SliceBounds{c.start, c.stop}, c.n);
    EXPECT_EQ(r.begin, c.begin) << c.start.value_or(-999) << ":" << c.stop.value_or(-999);
    EXPECT_EQ(r.end, c.end) << c.start.value_or(-999) << ":" << c.stop.value_or(-999);
  }
}

}  // namespace
}  // namespace gammaq::data
