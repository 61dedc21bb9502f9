// The operator table (src/ops/op.h): every operator of gammaq/ops.inc has its definition, at
// its own index, with the hooks every driver needs.
#include <gtest/gtest.h>

#include "ops/op.h"

namespace gammaq::ops {
namespace {

std::vector<OpType> all_ops() {
  return {
#define GAMMAQ_OP(e, name) OpType::e,
#include "gammaq/ops.inc"
#undef GAMMAQ_OP
  };
}

TEST(OpRegistry, EveryOperatorHasItsOwnDefinition) {
  for (OpType op : all_ops()) {
    SCOPED_TRACE(std::string(op_name(op)));
    const OpDef& d = def(op);
    EXPECT_EQ(d.op, op);
    // SiLU is gammaq's own (ir/passes.h fuses it); every other operator is read from ONNX.
    EXPECT_EQ(d.import != nullptr, op != OpType::SiLU);
    // Every operator that can be a Graph node has a reference kernel; the others become other
    // operators at import: MatMul Gemm, Constant a constant value, Squeeze/Unsqueeze Reshape,
    // Split Slices, ReduceMean/ReduceMax global pools, Sum Add, Upsample Resize.
    const bool survives = op != OpType::MatMul && op != OpType::Constant && op != OpType::Squeeze &&
                          op != OpType::Unsqueeze && op != OpType::Split &&
                          op != OpType::ReduceMean && op != OpType::ReduceMax &&
                          op != OpType::Sum && op != OpType::Upsample;
    EXPECT_EQ(d.reference != nullptr, survives);
    if (!d.integer_plan) {
      EXPECT_NE(std::string(d.no_integer), "");
    }
    // Layers take a fused activation.
    if (d.weighted) {
      EXPECT_TRUE(d.takes_activation);
    }
  }
}

TEST(OpRegistry, StandaloneActivationsFuseAsThemselves) {
  EXPECT_EQ(def(OpType::Relu).fuses_as, Activation::Relu);
  EXPECT_EQ(def(OpType::Clip).fuses_as, Activation::Clip);
  EXPECT_EQ(def(OpType::LeakyRelu).fuses_as, Activation::LeakyRelu);
  EXPECT_EQ(def(OpType::Sigmoid).fuses_as, Activation::None);  // not fused: rounds differently
  EXPECT_EQ(def(OpType::Conv).fuses_as, Activation::None);
}

}  // namespace
}  // namespace gammaq::ops
