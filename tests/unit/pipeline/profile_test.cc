// profile_model: one entry per node with its MACs, float and integer times, and the kernels.
#include "pipeline/profile.h"

#include <gtest/gtest.h>

#include "engine/integer.h"
#include "gammaq/dataset.h"
#include "gammaq/error.h"
#include "ir/passes.h"
#include "onnx/import.h"
#include "pipeline/quantize.h"

namespace gammaq {
namespace {

TEST(Profile, EveryNodeTimedInFloatAndOnIntegers) {
  Graph g = import_onnx_file(std::string(GAMMAQ_SOURCE_DIR) + "/models/resnet.onnx");
  (void)optimize(g);
  auto data = open_dataset("fashion-mnist:test[0:8]",
                           parse_preprocess_json(g.metadata.at("gammaq.preprocess")));
  QuantizeOptions q;
  q.threads = 1;
  q.quiet = true;
  const IntegerProgram program(g, quantize_model(g, *data, q).plan);
  const Tensor images = data->read(0, 8).images;
  ProfileOptions o;
  o.repeat = 2;
  o.threads = 1;
  const ProfileReport r = profile_model(g, &program, images, o);
  EXPECT_EQ(r.batch, 8);
  EXPECT_EQ(r.threads, 1);
  ASSERT_EQ(r.layers.size(), g.nodes.size());
  double float_sum = 0;
  int64_t conv_macs = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const LayerProfile& l = r.layers[i];
    EXPECT_EQ(l.name, g.nodes[i].name);
    EXPECT_EQ(l.macs, node_macs(g, g.nodes[i]));
    EXPECT_GT(l.float_seconds, 0.0) << l.name;
    EXPECT_GE(l.integer_seconds, 0.0) << l.name;
    EXPECT_FALSE(l.float_kernel.empty());
    EXPECT_FALSE(l.integer_kernel.empty());
    float_sum += l.float_seconds;
    if (g.nodes[i].op == OpType::Conv) conv_macs += l.macs;
  }
  EXPECT_GT(conv_macs, 0);
  EXPECT_GT(r.float_seconds, 0.0);
  EXPECT_GT(r.integer_seconds, 0.0);
  // Float only: no integer figures.
  const ProfileReport f = profile_model(g, nullptr, images, o);
  EXPECT_LT(f.integer_seconds, 0.0);
  for (const LayerProfile& l : f.layers) EXPECT_LT(l.integer_seconds, 0.0);
  o.repeat = 0;
  EXPECT_THROW((void)profile_model(g, nullptr, images, o), Error);
}

}  // namespace
}  // namespace gammaq
