// What exporters write around real CNNs (issue 18): shape subgraphs folded to constants
// (torch's dynamic-batch channel shuffle, a Slice end computed from a dimension), Split as
// Slices, ReduceMean as a global pool, the SiLU and hard-swish patterns fused to one node, a
// zero Pad folded into the Conv after it, opset-specific attribute forms. Each imported graph
// is run by the reference kernels against values derived by hand.
#include <gtest/gtest.h>

#include "gammaq/error.h"
#include "gammaq/executor.h"
#include "ir/passes.h"
#include "onnx/import.h"
#include "support/compare.h"
#include "support/onnx_builder.h"

namespace gammaq {
namespace {

using test::attr_float;
using test::attr_int;
using test::attr_ints;
using test::attr_string;
using test::OnnxBuilder;

Tensor run_reference(const Graph& g, const Tensor& x) {
  ExecutorOptions o;
  o.impl = KernelImpl::Reference;
  Executor e(g, o);
  return e.run(x);
}

Tensor iota(Shape s) {
  Tensor t(std::move(s));
  for (size_t i = 0; i < t.data.size(); ++i) t.data[i] = static_cast<float>(i);
  return t;
}

bool has_op(const Graph& g, OpType op) {
  for (const Node& n : g.nodes)
    if (n.op == op) return true;
  return false;
}

std::string error_of(const std::string& bytes) {
  try {
    (void)import_onnx_bytes(bytes, "m");
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::UnsupportedOp) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "import succeeded";
  return "";
}

// torch's ShuffleNetV2 channel shuffle with a dynamic batch: every Reshape target computed from
// Shape -> Gather -> Unsqueeze -> Concat, the group width by an integer Div.
OnnxBuilder dynamic_shuffle(int64_t opset) {
  OnnxBuilder b(opset);
  b.input("x", {4, 1, 2}).output("y");
  b.initializer_i64("i0", {0});
  b.initializer_i64("i1", {1});
  b.initializer_i64("two", {2});
  b.node("Shape", {"x"}, {"s"});
  auto& g0 = b.node("Gather", {"s", "i0"}, {"n"});
  attr_int(g0, "axis", 0);
  auto& g1 = b.node("Gather", {"s", "i1"}, {"c"});
  attr_int(g1, "axis", 0);
  b.node("Div", {"c", "two"}, {"cpg"});  // int64 4 / 2 = 2
  auto& cast = b.node("Cast", {"cpg"}, {"cpg64"});
  attr_int(cast, "to", 7);
  b.initializer_i64("g", {2});
  b.initializer_i64("hw", {1, 2});
  attr_int(b.node("Concat", {"n", "g", "cpg64", "hw"}, {"shape5"}), "axis", 0);
  b.node("Reshape", {"x", "shape5"}, {"r5"});
  auto& t = b.node("Transpose", {"r5"}, {"t5"});
  attr_ints(t, "perm", {0, 2, 1, 3, 4});
  b.node("Shape", {"x"}, {"s4"});
  b.node("Reshape", {"t5", "s4"}, {"y"});
  return b;
}

TEST(CnnIdioms, DynamicChannelShuffleFolds) {
  OnnxBuilder b = dynamic_shuffle(13);
  const Graph g = import_onnx_bytes(b.bytes(), "shuffle");
  EXPECT_FALSE(has_op(g, OpType::Identity));
  ASSERT_EQ(g.nodes.size(), 3u);  // Reshape, Transpose, Reshape: the shape arithmetic folded
  EXPECT_EQ(g.nodes[1].op, OpType::Transpose);
  EXPECT_EQ(g.values[g.nodes[0].outputs[0]].shape, (Shape{1, 2, 2, 1, 2}));
  // Channels [0 1 2 3] in 2 groups of 2 -> [0 2 1 3]; each channel holds 2 values.
  const Tensor y = run_reference(g, iota({2, 4, 1, 2}));
  EXPECT_EQ(y.shape, (Shape{2, 4, 1, 2}));
  EXPECT_EQ(y.data, (std::vector<float>{0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15}));
}

TEST(CnnIdioms, SliceEndFromAShapeAndSplit) {
  for (int64_t opset : {11, 13}) {
    SCOPED_TRACE(opset);
    OnnxBuilder b(opset);
    b.input("x", {4, 1, 1}).output("y");
    b.initializer_i64("i1", {1});
    b.initializer_i64("two", {2});
    b.initializer_i64("zero", {0});
    b.initializer_i64("axis1", {1});
    b.node("Shape", {"x"}, {"s"});
    b.node("Gather", {"s", "i1"}, {"c"});
    b.node("Div", {"c", "two"}, {"half"});
    b.node("Slice", {"x", "zero", "half", "axis1"}, {"lo"});  // channels 0, 1
    auto& split = b.node("Split", {"x"}, {"a", "bb"});        // channels 0-1 and 2-3
    attr_int(split, "axis", 1);
    if (opset < 13) attr_ints(split, "split", {1, 3});
    b.node("Add", {"lo", opset < 13 ? "lo" : "a"}, {"sum"});
    attr_int(b.node("Concat", {"sum", opset < 13 ? "a" : "bb"}, {"y"}), "axis", 1);
    const Graph g = import_onnx_bytes(b.bytes(), "slices");
    EXPECT_TRUE(has_op(g, OpType::Slice));
    const Tensor y = run_reference(g, iota({1, 4, 1, 1}));
    if (opset < 13)  // lo + lo = [0, 2], then Split's first part [0]
      EXPECT_EQ(y.data, (std::vector<float>{0, 2, 0}));
    else  // lo + a = [0, 2], then bb = [2, 3]
      EXPECT_EQ(y.data, (std::vector<float>{0, 2, 2, 3}));
  }
}

TEST(CnnIdioms, ReduceMeanIsAGlobalPool) {
  for (int64_t keep : {0, 1}) {
    OnnxBuilder b(13);
    b.input("x", {2, 2, 2}).output("y");
    auto& r = b.node("ReduceMean", {"x"}, {"y"});
    attr_ints(r, "axes", {2, 3});
    attr_int(r, "keepdims", keep);
    const Graph g = import_onnx_bytes(b.bytes(), "gap");
    EXPECT_TRUE(has_op(g, OpType::GlobalAveragePool));
    const Tensor y = run_reference(g, iota({1, 2, 2, 2}));
    EXPECT_EQ(y.shape, keep ? (Shape{1, 2, 1, 1}) : (Shape{1, 2}));
    EXPECT_EQ(y.data, (std::vector<float>{1.5f, 5.5f}));
  }
  OnnxBuilder b(13);
  b.input("x", {2, 2, 2}).output("y");
  attr_ints(b.node("ReduceMean", {"x"}, {"y"}, "over_c"), "axes", {1});
  EXPECT_NE(error_of(b.bytes()).find("over_c"), std::string::npos);
}

TEST(CnnIdioms, SwishPatternsFuseToOneNode) {
  struct Pattern {
    const char* name;
    OpType want;
    std::function<void(OnnxBuilder&)> build;
  };
  const std::vector<Pattern> patterns = {
      {"x*sigmoid(x)", OpType::SiLU,
       [](OnnxBuilder& b) {
         b.node("Sigmoid", {"x"}, {"s"});
         b.node("Mul", {"x", "s"}, {"y"});
       }},
      {"hardsigmoid(x)*x", OpType::HardSwish,
       [](OnnxBuilder& b) {
         auto& h = b.node("HardSigmoid", {"x"}, {"s"});
         attr_float(h, "alpha", 1.0f / 6.0f);
         b.node("Mul", {"s", "x"}, {"y"});
       }},
      {"x*relu6(x+3)/6", OpType::HardSwish,
       [](OnnxBuilder& b) {
         b.initializer("three", {}, {3.0f});
         b.initializer("zero", {}, {0.0f});
         b.initializer("six", {}, {6.0f});
         b.node("Add", {"x", "three"}, {"a"});
         b.node("Clip", {"a", "zero", "six"}, {"c"});
         b.node("Mul", {"x", "c"}, {"m"});
         b.node("Div", {"m", "six"}, {"y"});
       }},
      {"relu6(x+3)*(1/6)", OpType::HardSigmoid,
       [](OnnxBuilder& b) {
         b.initializer("three", {}, {3.0f});
         b.initializer("zero", {}, {0.0f});
         b.initializer("six", {}, {6.0f});
         b.initializer("sixth", {}, {1.0f / 6.0f});
         b.node("Add", {"three", "x"}, {"a"});
         b.node("Clip", {"a", "zero", "six"}, {"c"});
         b.node("Mul", {"c", "sixth"}, {"y"});
       }},
  };
  Tensor x({1, 1, 1, 8});
  for (int i = 0; i < 8; ++i) x.data[static_cast<size_t>(i)] = static_cast<float>(i) - 4.0f;
  for (const Pattern& p : patterns) {
    SCOPED_TRACE(p.name);
    OnnxBuilder b(13);
    b.input("x", {1, 1, 8}).output("y");
    p.build(b);
    Graph g = import_onnx_bytes(b.bytes(), "swish");
    const Tensor before = run_reference(g, x);
    const PassReport r = optimize(g);
    EXPECT_EQ(r.fused_swishes, 1);
    ASSERT_EQ(g.nodes.size(), 1u);
    EXPECT_EQ(g.nodes[0].op, p.want);
    const Tensor after = run_reference(g, x);
    for (size_t i = 0; i < x.data.size(); ++i) EXPECT_NEAR(after.data[i], before.data[i], 1e-6);
  }
  // A gate read twice is not fused (its value is needed).
  OnnxBuilder b(13);
  b.input("x", {1, 1, 8}).output("y");
  b.node("Sigmoid", {"x"}, {"s"});
  b.node("Mul", {"x", "s"}, {"m"});
  b.node("Add", {"m", "s"}, {"y"});
  Graph g = import_onnx_bytes(b.bytes(), "swish");
  EXPECT_EQ(optimize(g).fused_swishes, 0);
}

TEST(CnnIdioms, ZeroPadFoldsIntoConvAndOldOpsetAttributes) {
  // opset 9: Pad's pads and Clip's bounds are attributes.
  OnnxBuilder b(9);
  b.input("x", {1, 3, 3}).output("y");
  b.initializer("w", {1, 1, 3, 3}, std::vector<float>(9, 1.0f));
  auto& pad = b.node("Pad", {"x"}, {"p"});
  attr_ints(pad, "pads", {0, 0, 1, 1, 0, 0, 1, 1});
  b.node("Conv", {"p", "w"}, {"c"});
  auto& clip = b.node("Clip", {"c"}, {"y"});
  attr_float(clip, "min", 0.0f);
  attr_float(clip, "max", 5.0f);
  Graph g = import_onnx_bytes(b.bytes(), "pad");
  const Tensor x = iota({1, 1, 3, 3});
  const Tensor before = run_reference(g, x);
  EXPECT_EQ(optimize(g).folded_pads, 1);
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].attrs.pads, (std::vector<int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(run_reference(g, x).data, before.data);
  // Corner: 0 + 1 + 3 + 4 = 8, clipped to 5 by the attribute bound.
  EXPECT_EQ(before.data[0], 5.0f);
}

// tf2onnx's unfused batch norm (Conv, then Mul and Add by per-channel constants) and its dense
// layer (MatMul, then Add of the bias) become the layers themselves; a Mul that varies along H
// is not a per-channel scale and stays.
TEST(CnnIdioms, PerChannelScaleAndShiftFoldIntoTheLayer) {
  OnnxBuilder b(13);
  b.input("x", {2, 3, 3}).output("y");
  b.initializer("w", {2, 2, 3, 3}, test::random_values(36, 1));
  attr_ints(b.node("Conv", {"x", "w"}, {"c"}), "pads", {1, 1, 1, 1});
  b.initializer("s", {2, 1, 1}, {0.5f, -2.0f});
  b.node("Mul", {"s", "c"}, {"m"});  // constant first: Mul commutes
  b.initializer("t", {1, 2, 1, 1}, {0.25f, 1.0f});
  b.node("Sub", {"m", "t"}, {"a"});
  b.initializer("rows", {1, 1, 3, 1}, {1.0f, 2.0f, 3.0f});
  b.node("Mul", {"a", "rows"}, {"r"});  // varies along H: stays
  b.node("Relu", {"r"}, {"rr"});
  b.node("Flatten", {"rr"}, {"f"});
  b.initializer("fw", {18, 4}, test::random_values(72, 2));
  b.node("MatMul", {"f", "fw"}, {"mm"});
  b.initializer("fb", {4}, {1.0f, 2.0f, 3.0f, 4.0f});
  b.node("Add", {"mm", "fb"}, {"y"});
  Graph g = import_onnx_bytes(b.bytes(), "affine");
  Tensor x(Shape{1, 2, 3, 3}, test::random_values(18, 3));
  const Tensor before = run_reference(g, x);
  const PassReport r = optimize(g);
  EXPECT_EQ(r.folded_affines, 3);
  std::vector<OpType> ops;
  for (const Node& n : g.nodes) ops.push_back(n.op);
  EXPECT_EQ(ops, (std::vector<OpType>{OpType::Conv, OpType::Mul, OpType::Relu, OpType::Flatten,
                                      OpType::Gemm}));
  EXPECT_TRUE(test::agree(run_reference(g, x).data, before.data, 4));
}

// Sum, Max and Min of three operands (a constant among them, in any position) import as a
// chain of binary nodes.
TEST(CnnIdioms, VariadicSumAndMinChainBinaryNodes) {
  OnnxBuilder b(13);
  b.input("x", {1, 2, 2}).output("y");
  b.initializer("ten", {}, {10.0f});
  b.initializer("cap", {1, 1, 1}, {1.5f});
  b.node("Sum", {"x", "ten", "x"}, {"s"}, "sum3");  // 2x + 10
  b.node("Min", {"cap", "s", "x"}, {"y"});          // min(1.5, 2x + 10, x)
  const Graph g = import_onnx_bytes(b.bytes(), "variadic");
  EXPECT_EQ(g.nodes.size(), 4u);
  EXPECT_EQ(g.nodes[1].name, "sum3");
  const Tensor x = iota({1, 1, 2, 2});
  EXPECT_EQ(run_reference(g, x).data, (std::vector<float>{0, 1, 1.5f, 1.5f}));
}

// A perm that is not a permutation of the input's axes is refused before ONNX shape inference,
// whose Conv rule crashed on the rank-3 tensor it inferred (found by the fuzzer).
TEST(CnnIdioms, TransposePermMustPermuteEveryAxis) {
  OnnxBuilder b(13);
  b.input("x", {6, 6, 1}).output("y");
  attr_ints(b.node("Transpose", {"x"}, {"t"}, "tr"), "perm", {0, 3, 2});
  b.initializer("w", {2, 1, 3, 3}, std::vector<float>(18, 1.0f));
  b.node("Conv", {"t", "w"}, {"y"});
  std::string msg;
  try {
    (void)import_onnx_bytes(b.bytes(), "m");
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidModel);
    msg = e.what();
  }
  EXPECT_NE(msg.find("'tr'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'perm' is not a permutation"), std::string::npos) << msg;
}

TEST(CnnIdioms, WhatDoesNotFoldIsNamed) {
  OnnxBuilder b(13);
  b.input("x", {2, 2, 2}).output("y");
  b.initializer_i64("i", {0});
  b.node("Gather", {"x", "i"}, {"y"}, "gather_x");  // a Gather of the image: not a shape
  const std::string msg = error_of(b.bytes());
  EXPECT_NE(msg.find("gather_x"), std::string::npos) << msg;
  EXPECT_NE(msg.find("does not fold"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos);
}

// Resize outside what gammaq computes is refused naming the node and the attribute value:
// cubic, tf_crop_and_resize, resizing the channels, and tf_half_pixel_for_nearest after it left
// ONNX (opset 13).
TEST(CnnIdioms, ResizeOutsideTheListIsRefused) {
  struct Case {
    const char* mode;
    const char* coord;
    std::vector<float> scales;
    int64_t opset;
    const char* expect;
  };
  for (const Case& c :
       std::vector<Case>{{"cubic", "half_pixel", {1, 1, 2, 2}, 13, "mode 'cubic'"},
                         {"linear", "tf_crop_and_resize", {1, 1, 2, 2}, 13, "tf_crop_and_resize"},
                         {"nearest", "asymmetric", {1, 2, 1, 1}, 13, "channels"},
                         {"nearest", "tf_half_pixel_for_nearest", {1, 1, 2, 2}, 13, "opset 13"}}) {
    SCOPED_TRACE(c.expect);
    OnnxBuilder b(c.opset);
    b.input("x", {2, 3, 3}).output("y");
    b.initializer("s", {4}, c.scales);
    auto& r = b.node("Resize", {"x", "", "s"}, {"y"}, "up");
    attr_string(r, "mode", c.mode);
    attr_string(r, "coordinate_transformation_mode", c.coord);
    std::string msg;
    try {
      (void)import_onnx_bytes(b.bytes(), "m");
    } catch (const Error& e) {
      msg = e.what();
    }
    EXPECT_NE(msg.find("'up'"), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.expect), std::string::npos) << msg;
  }
}

// Names are untrusted text: a newline, an escape sequence or bytes that are not UTF-8 in a node
// name or op type come back escaped, so that the error stays one printable line; a name in
// another script (valid UTF-8) comes back as written.
TEST(CnnIdioms, ErrorsCarryNamesAsOnePrintableLine) {
  OnnxBuilder b(13);
  b.input("x", {2, 2, 2}).output("y");
  b.node("Attention", {"x"}, {"y"}, std::string("na\nme\x1b[31m\xff\xc3") + "\xe5\x8d\xb7");
  const std::string msg = error_of(b.bytes());
  EXPECT_NE(msg.find("na\\x0ame\\x1b[31m\\xff\\xc3\xe5\x8d\xb7"), std::string::npos) << msg;
  for (char c : msg) EXPECT_FALSE(static_cast<unsigned char>(c) < 0x20) << msg;
}

TEST(Printable, EscapesControlsAndBadUtf8AndIsIdempotent) {
  EXPECT_EQ(printable("plain ascii"), "plain ascii");
  EXPECT_EQ(printable("a\tb\r\n\x7f"), "a\\x09b\\x0d\\x0a\\x7f");
  EXPECT_EQ(printable("\xc3\xa9\xe5\x8d\xb7\xf0\x9f\x98\x80"),
            "\xc3\xa9\xe5\x8d\xb7\xf0\x9f\x98\x80");
  EXPECT_EQ(printable("\xc0\xaf"), "\\xc0\\xaf");                    // overlong '/'
  EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");           // a surrogate
  EXPECT_EQ(printable("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
  EXPECT_EQ(printable("\xe5\x8d"), "\\xe5\\x8d");                    // truncated at the end
  EXPECT_EQ(printable("\xc2\x85"), "\\xc2\\x85");                    // C1 control (NEL)
  EXPECT_EQ(printable(std::string_view("a\0b", 3)), "a\\x00b");
  const std::string once = printable("x\n\xff\\y");
  EXPECT_EQ(printable(once), once);
  EXPECT_EQ(Error(ErrorKind::Io, "line\nbreak").what(), std::string("line\\x0abreak"));
}

}  // namespace
}  // namespace gammaq
