// End-to-end CLI: exit codes, one-line errors naming the culprit, JSON outputs, no partial
// output files.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/onnx_builder.h"

namespace gammaq {
namespace {

namespace fs = std::filesystem;

struct Result {
  int code;
  std::string out, err;
};

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

Result gammaq(const std::string& args) {
  const std::string dir = test::temp_dir();
  const std::string cmd = std::string(GAMMAQ_BINARY) + " " + args + " >" + dir + "/out.txt 2>" +
                          dir + "/err.txt </dev/null";
  const int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(dir + "/out.txt"),
          slurp(dir + "/err.txt")};
}

const std::string kRoot = GAMMAQ_SOURCE_DIR;
const std::string kModel = kRoot + "/models/googlenet.onnx";

// One line on stderr, "gammaq: error: ...", mentioning every string in `names`.
void expect_input_error(const Result& r, std::initializer_list<std::string> names) {
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_EQ(r.err.rfind("gammaq: error: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  for (const auto& n : names)
    EXPECT_NE(r.err.find(n), std::string::npos) << n << " not in: " << r.err;
}

std::string write_bytes(const std::string& name, const std::string& bytes) {
  const std::string path = test::temp_dir() + "/" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

TEST(CliTest, InspectJsonListsLayers) {
  const Result r = gammaq("inspect " + kModel + " --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["model"], "googlenet");
  EXPECT_GT(j["macs"].get<int64_t>(), 1000000);
  EXPECT_GT(j["layers"].size(), 10u);
  EXPECT_EQ(j["input"]["shape"], nlohmann::json::parse("[1,1,28,28]"));
  EXPECT_TRUE(j.contains("preprocess"));
}

TEST(CliTest, EvalJsonOnASlice) {
  const std::string logits = test::temp_dir() + "/logits.npy";
  const Result r =
      gammaq("eval " + kModel + " --data 'fashion-mnist:test[0:200]' --json --threads 1 --logits " +
             logits);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["images"], 200);
  EXPECT_EQ(j["threads"], 1);
  EXPECT_GT(j["top1"].get<double>(), 0.8);
  EXPECT_GE(j["top5"].get<double>(), j["top1"].get<double>());
  EXPECT_GT(j["images_per_s"].get<double>(), 0.0);
  EXPECT_EQ(fs::file_size(logits), 128u + 200u * 10u * 4u);  // header padded to 128 bytes
}

TEST(CliTest, MissingTruncatedAndRandomModelFiles) {
  expect_input_error(gammaq("inspect /nonexistent/m.onnx"), {"/nonexistent/m.onnx", "cannot open"});
  const std::string bytes = slurp(kModel);
  const std::string cut = write_bytes("truncated.onnx", bytes.substr(0, bytes.size() / 2));
  expect_input_error(gammaq("inspect " + cut), {"truncated.onnx"});
  std::string noise(3000, 'x');
  for (size_t i = 0; i < noise.size(); ++i) noise[i] = static_cast<char>((i * 2654435761u) >> 13);
  expect_input_error(
      gammaq("eval " + write_bytes("noise.onnx", noise) + " --data fashion-mnist:test"),
      {"noise.onnx"});
}

TEST(CliTest, UnsupportedOperatorAndNanWeights) {
  test::OnnxBuilder b(15);
  b.input("x", {1, 28, 28}).output("y");
  b.node("Erf", {"x"}, {"y"}, "erf_node");
  expect_input_error(gammaq("inspect " + b.write("erf.onnx")),
                     {"erf.onnx", "erf_node", "Erf", "opset 15"});

  test::OnnxBuilder c(13);
  c.input("x", {1, 28, 28}).output("y");
  std::vector<float> w(9, 0.5f);
  w[4] = std::nanf("");
  c.initializer("w", {1, 1, 3, 3}, w);
  c.node("Conv", {"x", "w"}, {"y"}, "conv_nan");
  expect_input_error(gammaq("inspect " + c.write("nan.onnx")), {"nan.onnx", "conv_nan", "NaN"});
}

TEST(CliTest, MismatchedInputShape) {
  test::OnnxBuilder b(13);
  b.input("x", {3, 32, 32}).output("y");
  b.node("Relu", {"x"}, {"y"}, "r");
  b.metadata(
      "gammaq.preprocess",
      R"({"scale": 0.00392156862745098, "mean": [0.5], "std": [0.5], "channels": "gray", "size": [28, 28]})");
  expect_input_error(
      gammaq("eval " + b.write("rgb.onnx") + " --data fashion-mnist:test --limit 10"),
      {"3x32x32", "1x28x28"});
}

TEST(CliTest, BadDataFilesAndNoPartialOutput) {
  const std::string logits = test::temp_dir() + "/never.npy";
  expect_input_error(
      gammaq("eval " + kModel + " --data idx:/nonexistent/images.idx --logits " + logits),
      {"/nonexistent/images.idx"});
  // A truncated IDX file: header says 10 images of 28x28, only 100 bytes follow.
  std::string idx("\x00\x00\x08\x03\x00\x00\x00\x0a\x00\x00\x00\x1c\x00\x00\x00\x1c", 16);
  idx += std::string(100, '\x01');
  const std::string img = write_bytes("short-images.idx", idx);
  expect_input_error(gammaq("eval " + kModel + " --data idx:" + img + " --logits " + logits),
                     {"short-images.idx"});
  // Labels file with 5 labels for 10 images.
  std::string full("\x00\x00\x08\x03\x00\x00\x00\x0a\x00\x00\x00\x1c\x00\x00\x00\x1c", 16);
  full += std::string(10 * 784, '\x02');
  std::string labels("\x00\x00\x08\x01\x00\x00\x00\x05", 8);
  labels += std::string(5, '\x01');
  const std::string im = write_bytes("ten-images.idx", full);
  const std::string lb = write_bytes("five-labels.idx", labels);
  expect_input_error(
      gammaq("eval " + kModel + " --data idx:" + im + "," + lb + " --logits " + logits),
      {"5", "10"});
  EXPECT_FALSE(fs::exists(logits));
  for (const auto& e : fs::directory_iterator(test::temp_dir()))
    EXPECT_EQ(e.path().string().find(".tmp."), std::string::npos) << e.path();
}

TEST(CliTest, BadOptions) {
  expect_input_error(gammaq("eval " + kModel + " --data nosuch:thing"), {"nosuch:thing"});
  expect_input_error(gammaq("eval " + kModel), {"--data"});
  expect_input_error(gammaq("eval " + kModel + " --data fashion-mnist:test --threads -3"),
                     {"--threads"});
  EXPECT_EQ(gammaq("--help").code, 0);
  EXPECT_EQ(gammaq("eval --help").code, 0);
}

}  // namespace
}  // namespace gammaq
