// Exports: the C header compiles as C99 with every warning, and the standalone C reference
// (examples/c_reference/gq_run.c, no gammaq code) running it gives the integer engine's
// output codes exactly; the binaries hold the same integers as the engine; a PATH that
// exists is refused and nothing is left behind.
#include "export/export.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/fake_quant.h"
#include "export/qdq.h"
#include "gammaq/dataset.h"
#include "gammaq/error.h"
#include "gammaq/executor.h"
#include "ir/passes.h"
#include "onnx/import.h"
#include "pipeline/quantize.h"
#include "quant/nuuq.h"
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
  Model(const std::string& name, int bits, bool per_channel = false, int wlevels = 0) {
    g = import_onnx_file(std::string(GAMMAQ_SOURCE_DIR) + "/models/" + name + ".onnx");
    (void)optimize(g);
    const Preprocess pre = parse_preprocess_json(g.metadata.at("gammaq.preprocess"));
    auto calib = open_dataset("fashion-mnist:train[0:64]", pre);
    QuantizeOptions o;
    o.wbits = o.abits = bits;
    o.per_channel = per_channel;
    o.wlevels = wlevels;
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

// NUUQ layers also carry their codebooks and packed indices: unpacking and decoding them gives
// the weight codes the engine runs.
TEST(ExportBin, NuuqPackedIndicesDecodeToTheWeights) {
  const Model m("resnet", 8, true, 3);
  const IntegerProgram p(m.g, m.plan);
  const std::string dir = test::temp_dir() + "/bin_nuuq";
  export_model(p, m.plan, "bin", dir);
  const auto j = nlohmann::json::parse(slurp(dir + "/manifest.json"));
  int layers = 0;
  for (const auto& n : j["nodes"]) {
    if (!n.contains("nuuq")) continue;
    ++layers;
    const IntegerNode& in = p.node(n["index"].get<size_t>());
    const auto& z = n["nuuq"];
    const auto& pa = j["arrays"][z["packed"].get<std::string>()];
    ASSERT_EQ(pa["type"], "uint8");
    const std::string packed = slurp(dir + "/" + pa["file"].get<std::string>());
    const auto& la = j["arrays"][z["levels"].get<std::string>()];
    ASSERT_EQ(la["type"], "int8");
    const std::string levels = slurp(dir + "/" + la["file"].get<std::string>());
    const size_t per = z["weights_per_codebook"].get<size_t>();
    ASSERT_EQ(z["codebooks"].size() * per, in.codes.weight.size());
    for (size_t b = 0; b < z["codebooks"].size(); ++b) {
      const auto& cb = z["codebooks"][b];
      const int q = cb["levels"].get<int>();
      ASSERT_LE(q, 3);
      const size_t at = cb["packed_offset"].get<size_t>();
      const std::vector<uint8_t> bytes(packed.begin() + static_cast<std::ptrdiff_t>(at),
                                       packed.end());
      const std::vector<int> idx = quant::unpack_indices(bytes, per, q);
      for (size_t k = 0; k < per; ++k)
        ASSERT_EQ(static_cast<int8_t>(
                      levels[cb["levels_offset"].get<size_t>() + static_cast<size_t>(idx[k])]),
                  in.codes.weight[b * per + k])
            << n["name"] << " codebook " << b << " weight " << k;
    }
  }
  EXPECT_GT(layers, 5);
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

// ---------------------------------------------------------------- QDQ ONNX

// The values of an integer or float initializer, as doubles (int4 unpacked, sign-extended).
std::vector<double> values_of(const onnx::TensorProto& t) {
  int64_t n = 1;
  for (int64_t d : t.dims()) n *= d;
  std::vector<double> out;
  if (t.data_type() == onnx::TensorProto::FLOAT) {
    for (float x : t.float_data()) out.push_back(x);
    return out;
  }
  const std::string& raw = t.raw_data();
  for (int64_t i = 0; i < n; ++i) {
    const auto byte = [&](int64_t k) { return static_cast<unsigned char>(raw.at(k)); };
    switch (t.data_type()) {
      case 22: {  // INT4
        const int nib = (byte(i / 2) >> (4 * (i % 2))) & 0xF;
        out.push_back(nib >= 8 ? nib - 16 : nib);
        break;
      }
      case onnx::TensorProto::UINT8: out.push_back(byte(i)); break;
      case onnx::TensorProto::INT8: out.push_back(static_cast<int8_t>(byte(i))); break;
      case onnx::TensorProto::INT16:
        out.push_back(static_cast<int16_t>(byte(2 * i) | (byte(2 * i + 1) << 8)));
        break;
      case onnx::TensorProto::INT32: {
        uint32_t u = 0;
        for (int b = 0; b < 4; ++b) u |= static_cast<uint32_t>(byte(4 * i + b)) << (8 * b);
        out.push_back(static_cast<int32_t>(u));
        break;
      }
      default: ADD_FAILURE() << t.name() << ": type " << t.data_type();
    }
  }
  return out;
}

struct Qdq {
  onnx::ModelProto m;
  std::map<std::string, const onnx::TensorProto*> init;
  QdqReport report;
  Qdq(const Model& model, QdqOptions o) {
    EXPECT_TRUE(m.ParseFromString(qdq_model(model.g, model.plan, o, &report)));
    for (const auto& t : m.graph().initializer()) init[t.name()] = &t;
  }
  // DequantizeLinear of an initializer: (codes - zero point) * scale, along axis 0.
  std::vector<double> dequantized(const onnx::NodeProto& dq) const {
    const auto codes = values_of(*init.at(dq.input(0)));
    const auto scale = values_of(*init.at(dq.input(1)));
    const auto zero = values_of(*init.at(dq.input(2)));
    const size_t per = codes.size() / scale.size();
    std::vector<double> out;
    for (size_t k = 0; k < codes.size(); ++k)
      out.push_back((codes[k] - zero[k / per]) * scale[k / per]);
    return out;
  }
};

bool power_of_two(double s) {
  int e;
  return s > 0 && std::frexp(s, &e) == 0.5;
}

// Every weight and bias DequantizeLinear gives the simulation's constants exactly; every
// quantized feature map gets one QuantizeLinear with scale 2^-frac, preceded by a Clip to the
// format's range when the format is narrower than int8; all scales are powers of two.
void check_qdq_matches_simulation(const Model& model, const QdqOptions& o) {
  const Qdq q(model, o);
  const FakeQuant fq = resolve_plan(model.g, model.plan);
  std::map<std::string, const onnx::NodeProto*> producer;
  for (const auto& n : q.m.graph().node()) producer[n.output(0)] = &n;
  int constants = 0, activations = 0, clips = 0;
  for (const auto& n : q.m.graph().node()) {
    if (n.op_type() == "DequantizeLinear" && q.init.count(n.input(0))) {
      const std::string name = n.input(0).substr(0, n.input(0).size() - 2);  // "<w>/q"
      const int v = model.g.find_value(name);
      ASSERT_GE(v, 0) << name;
      const std::vector<double> got = q.dequantized(n);
      const std::vector<float>& want = fq.constant[static_cast<size_t>(v)].data;
      ASSERT_EQ(got.size(), want.size()) << name;
      for (size_t k = 0; k < got.size(); ++k) ASSERT_EQ(got[k], want[k]) << name << "[" << k << "]";
      for (double s : values_of(*q.init.at(n.input(1)))) EXPECT_TRUE(power_of_two(s)) << name;
      ++constants;
    }
    if (n.op_type() != "QuantizeLinear") continue;
    ++activations;
    // "<value>/q", or "<input>/dq/q" for the graph input.
    std::string name = n.output(0).substr(0, n.output(0).size() - 2);
    if (name.ends_with("/dq")) name.resize(name.size() - 3);
    const int v = model.g.find_value(name);
    ASSERT_GE(v, 0) << name;
    const quant::Format& f = *fq.value_format[static_cast<size_t>(v)];
    EXPECT_EQ(values_of(*q.init.at(n.input(1))), std::vector<double>{std::ldexp(1.0, -f.frac)})
        << name;
    if (f.bits < 8) {
      const auto it = producer.find(n.input(0));
      ASSERT_NE(it, producer.end()) << name;
      ASSERT_TRUE(it->second->op_type() == "Clip" || it->second->op_type() == "Relu") << name;
      if (it->second->op_type() == "Clip") {
        EXPECT_GE(values_of(*q.init.at(it->second->input(1)))[0], f.min_value()) << name;
        EXPECT_LE(values_of(*q.init.at(it->second->input(2)))[0], f.max_value()) << name;
        ++clips;
      }
    }
  }
  int quantized = 0;
  for (const auto& f : fq.value_format) quantized += f.has_value();
  EXPECT_EQ(activations, quantized);
  EXPECT_EQ(q.report.quantized_values, quantized);
  int weights_and_biases = 0;
  for (const Node& n : model.g.nodes)
    if (n.op == OpType::Conv || n.op == OpType::Gemm)
      weights_and_biases += static_cast<int>(n.inputs.size()) - 1;
  EXPECT_EQ(constants + q.report.float_biases, weights_and_biases);
  if (model.plan.abits < 8) {
    EXPECT_GT(clips, 0);
  }
}

TEST(ExportQdq, ConstantsAndFormatsAreTheSimulations) {
  check_qdq_matches_simulation(Model("mobilenetv2", 8), {});
  check_qdq_matches_simulation(Model("resnet", 6, true), {});
  check_qdq_matches_simulation(Model("alexnet", 8, true), {13, true});  // uint8 weights
}

TEST(ExportQdq, Int4WeightsAndInt16FormatsUseOpset21) {
  const Model m4("alexnet", 4);
  check_qdq_matches_simulation(m4, {21, false});
  const Qdq q4(m4, {21, false});
  EXPECT_EQ(q4.m.opset_import(0).version(), 21);
  int int4 = 0;
  for (const auto& [name, t] : q4.init) int4 += t->data_type() == 22;
  EXPECT_GE(int4, static_cast<int>(m4.plan.layers.size()));  // weights and their zero points

  const Model m16("alexnet", 16);
  const Qdq q16(m16, {});
  EXPECT_EQ(q16.report.opset, 21);
  ASSERT_FALSE(q16.report.warnings.empty());
  EXPECT_NE(q16.report.warnings[0].find("opset raised to 21"), std::string::npos);
  check_qdq_matches_simulation(m16, {21, false});
  EXPECT_THROW((void)qdq_model(m16.g, m16.plan, {17, false}), Error);
}

TEST(ExportQdq, BadPathsLeaveNothing) {
  const Model m("googlenet", 8);
  const std::string dir = test::temp_dir() + "/qdq_folder";
  fs::create_directories(dir);
  try {
    (void)export_qdq(m.g, m.plan, {}, dir);
    ADD_FAILURE() << "a folder was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidOption);
  }
  const std::string missing = test::temp_dir() + "/no/such/folder/m.onnx";
  try {
    (void)export_qdq(m.g, m.plan, {}, missing);
    ADD_FAILURE() << "an unwritable path was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Io);
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
  const std::string ok = test::temp_dir() + "/m.onnx";
  (void)export_qdq(m.g, m.plan, {}, ok);
  EXPECT_GT(fs::file_size(ok), 1000u);
  for (const auto& e : fs::directory_iterator(test::temp_dir()))
    EXPECT_EQ(e.path().string().find(".tmp."), std::string::npos) << e.path();
}

}  // namespace
}  // namespace gammaq
