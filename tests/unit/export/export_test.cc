// Exports: the C header compiles as C99 with every warning, and the standalone C reference
// (examples/c_reference/gq_run.c, no gammaq code) running it gives the integer engine's
// output codes exactly; the binaries hold the same integers as the engine; a PATH that
// exists is refused and nothing is left behind.
#include "export/export.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "gammaq/dataset.h"
#include "gammaq/error.h"
#include "gammaq/executor.h"
#include "ir/passes.h"
#include "onnx/import.h"
#include "pipeline/quantize.h"
#include "support/onnx_builder.h"

namespace gammaq {
namespace {

namespace fs = std::filesystem;

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

struct Model {
  Graph g;
  quant::QuantPlan plan;
  Tensor images;
  Model(const std::string& name, int bits) {
    g = import_onnx_file(std::string(GAMMAQ_SOURCE_DIR) + "/models/" + name + ".onnx");
    (void)optimize(g);
    const Preprocess pre = parse_preprocess_json(g.metadata.at("gammaq.preprocess"));
    auto calib = open_dataset("fashion-mnist:train[0:64]", pre);
    QuantizeOptions o;
    o.wbits = o.abits = bits;
    o.threads = 1;
    o.quiet = true;
    plan = quantize_model(g, *calib, o).plan;
    images = open_dataset("fashion-mnist:test[0:3]", pre)->read(0, 3).images;
  }
};

TEST(ExportC, StandaloneReferenceEqualsTheIntegerEngine) {
  for (const auto& [name, bits] : {std::pair{"googlenet", 6}, std::pair{"resnet", 8}}) {
    SCOPED_TRACE(name);
    const Model m(name, bits);
    const IntegerProgram p(m.g, m.plan);
    const std::string dir = test::temp_dir() + "/c_" + name;
    export_model(p, m.plan, "c", dir);
    const std::string header = dir + "/gq_" + std::string(name) + ".h";
    ASSERT_TRUE(fs::exists(header));
    const std::string exe = dir + "/gq_run";
    const std::string cc = "cc -std=c99 -Wall -Wextra -Werror -pedantic -O1 -DGQ_MODEL=gq_" +
                           std::string(name) + " -include " + header + " " + GAMMAQ_SOURCE_DIR +
                           "/examples/c_reference/gq_run.c -lm -o " + exe + " 2>" + dir + "/cc.txt";
    ASSERT_EQ(std::system(cc.c_str()), 0) << slurp(dir + "/cc.txt");
    ExecutorOptions eo;
    eo.threads = 1;
    eo.integer = &p;
    Executor ex(m.g, eo);
    const int64_t per = m.images.numel() / m.images.shape[0];
    for (int64_t i = 0; i < m.images.shape[0]; ++i) {
      Tensor one({1, m.images.shape[1], m.images.shape[2], m.images.shape[3]});
      std::copy_n(m.images.data.begin() + i * per, per, one.data.begin());
      (void)ex.run(one);
      std::ostringstream in;
      for (int32_t c : ex.codes(m.g.input)) in << c << "\n";
      std::ofstream(dir + "/in.txt") << in.str();
      ASSERT_EQ(std::system((exe + " <" + dir + "/in.txt >" + dir + "/out.txt").c_str()), 0);
      std::istringstream out(slurp(dir + "/out.txt"));
      for (int32_t want : ex.codes(m.g.output)) {
        int64_t got = 0;
        ASSERT_TRUE(out >> got);
        EXPECT_EQ(got, want) << "image " << i;
      }
    }
  }
}

TEST(ExportBin, ManifestAndBinariesHoldTheEngineIntegers) {
  const Model m("googlenet", 8);
  const IntegerProgram p(m.g, m.plan);
  const std::string dir = test::temp_dir() + "/bin";
  export_model(p, m.plan, "bin", dir);
  const auto j = nlohmann::json::parse(slurp(dir + "/manifest.json"));
  EXPECT_EQ(j["model"], "googlenet");
  int layers = 0;
  for (const auto& n : j["nodes"]) {
    if (n["op"] != "Conv" && n["op"] != "Gemm") continue;
    ++layers;
    const IntegerNode& in = p.node(n["index"].get<size_t>());
    const auto& a = j["arrays"][n["weights"].get<std::string>()];
    const std::string bytes = slurp(dir + "/" + a["file"].get<std::string>());
    ASSERT_EQ(a["type"], "int8");
    ASSERT_EQ(bytes.size(), in.codes.weight.size());
    for (size_t k = 0; k < bytes.size(); ++k)
      ASSERT_EQ(static_cast<int8_t>(bytes[k]), in.codes.weight[k]);
  }
  EXPECT_GT(layers, 10);
}

// $readmemh vectors: every activation's codes, sign-extended back from their hex digits, are
// the engine's, for every image.
TEST(ExportVectors, HexFilesHoldEveryTensorsCodes) {
  const Model m("googlenet", 6);
  const IntegerProgram p(m.g, m.plan);
  const std::string dir = test::temp_dir() + "/vectors";
  export_vectors(p, m.plan, m.images, dir);
  ExecutorOptions eo;
  eo.integer = &p;
  Executor ex(m.g, eo);
  (void)ex.run(m.images);
  const auto j = nlohmann::json::parse(slurp(dir + "/manifest.json"));
  EXPECT_EQ(j["images"], 3);
  EXPECT_EQ(j["nodes"].size(), m.g.nodes.size());
  int files = 0;
  for (const auto& v : j["values"]) {
    const std::vector<int32_t>& want = ex.codes(v["id"].get<int>());
    std::istringstream in(slurp(dir + "/" + v["file"].get<std::string>()));
    const int bits = ((v["bits"].get<int>() + 3) / 4) * 4;
    std::string line;
    size_t k = 0;
    while (std::getline(in, line)) {
      ASSERT_LT(k, want.size());
      int64_t u = std::stoll(line, nullptr, 16);
      if (v["signed"].get<bool>() && u >= (int64_t{1} << (bits - 1))) u -= int64_t{1} << bits;
      ASSERT_EQ(u, want[k]) << v["name"] << " line " << k;
      ++k;
    }
    EXPECT_EQ(k, want.size()) << v["name"];
    ++files;
  }
  EXPECT_GT(files, 30);
}

TEST(ExportC, RefusesAnExistingPathAndLeavesNothing) {
  const Model m("alexnet", 8);
  const IntegerProgram p(m.g, m.plan);
  const std::string dir = test::temp_dir() + "/taken";
  fs::create_directories(dir);
  std::ofstream(dir + "/keep.txt") << "mine";
  EXPECT_THROW(export_model(p, m.plan, "c", dir), Error);
  EXPECT_EQ(slurp(dir + "/keep.txt"), "mine");
  EXPECT_THROW(export_model(p, m.plan, "tflite", test::temp_dir() + "/x"), Error);
  for (const auto& e : fs::directory_iterator(test::temp_dir()))
    EXPECT_EQ(e.path().string().find(".tmp."), std::string::npos) << e.path();
}

}  // namespace
}  // namespace gammaq
