// End-to-end CLI: exit codes, one-line errors naming the culprit, JSON outputs, no partial
// output files.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/atomic_file.h"
#include "support/npy.h"
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

// A quantize DIR scores `top1` on fashion-mnist:test[0:64] twice more: its plan through eval
// --quant (the simulation) and DIR through run (the integer engine).
void expect_scored_alike(const std::string& out, const nlohmann::json& top1) {
  const Result e = gammaq("eval " + kModel + " --data 'fashion-mnist:test[0:64]' --quant " + out +
                          "/quant.json --json --threads 1");
  ASSERT_EQ(e.code, 0) << e.err;
  EXPECT_EQ(nlohmann::json::parse(e.out)["top1"], top1);
  const Result r = gammaq("run " + out + " --data 'fashion-mnist:test[0:64]' --json --threads 1");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["top1"], top1);
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

// quantize writes quant.json and summary.json; eval --quant on the saved plan reproduces the
// quantized accuracy quantize reported on the same images.
TEST(CliTest, QuantizeThenEvalTheSavedPlan) {
  const std::string out = test::temp_dir() + "/report-q";
  const Result q = gammaq("quantize " + kModel +
                          " --calib 'fashion-mnist:train[0:256]' --test 'fashion-mnist:test[0:256]'"
                          " --wbits 8 --abits 8 --json --quiet --threads 1 --out " +
                          out);
  ASSERT_EQ(q.code, 0) << q.err;
  const auto summary = nlohmann::json::parse(q.out);
  EXPECT_EQ(summary, nlohmann::json::parse(slurp(out + "/summary.json")));
  EXPECT_EQ(summary["calibration_images"], 256);
  const auto plan = nlohmann::json::parse(slurp(out + "/quant.json"));
  EXPECT_EQ(plan["gammaq_quant"], 1);
  EXPECT_EQ(plan["wbits"], 8);
  EXPECT_GT(plan["layers"].size(), 10u);
  EXPECT_GT(plan["activations"].size(), 10u);
  for (const auto& [name, a] : plan["activations"].items()) {
    EXPECT_EQ(a["bits"], 8) << name;
    EXPECT_TRUE(a["frac"].is_number_integer()) << name;
  }
  const Result e = gammaq("eval " + kModel + " --data 'fashion-mnist:test[0:256]' --quant " + out +
                          "/quant.json --json --quiet --threads 1 --kernels fast");
  ASSERT_EQ(e.code, 0) << e.err;
  const auto ej = nlohmann::json::parse(e.out);
  EXPECT_EQ(ej["top1"], summary["quantized"]["top1"]);
  // 8-bit formats keep the float model's accuracy on these images to within 2 of 256.
  EXPECT_NEAR(ej["top1"].get<double>(), summary["float"]["top1"].get<double>(), 2.0 / 256);
}

// DESIGN: same inputs, same quant.json, whatever the thread count.
// ggd, and adlq, whose second pass runs the next layers on each chunk's rounding errors.
TEST(CliTest, QuantizePlanDoesNotDependOnThreads) {
  for (const std::string method : {"ggd", "adlq"}) {
    std::string plans[3];
    const char* threads[3] = {"--threads 1", "--threads 2", "--threads 3"};
    for (int i = 0; i < 3; ++i) {
      const std::string out = test::temp_dir() + "/t" + method + std::to_string(i);
      const Result r = gammaq("quantize " + kModel +
                              " --calib 'fashion-mnist:train[0:300]' --wbits 6 --abits 6 "
                              "--batch 32 --quiet --method " +
                              method + " --out " + out + " " + threads[i]);
      ASSERT_EQ(r.code, 0) << r.err;
      plans[i] = slurp(out + "/quant.json");
    }
    EXPECT_FALSE(plans[0].empty());
    EXPECT_EQ(plans[0], plans[1]) << method;
    EXPECT_EQ(plans[0], plans[2]) << method;
  }
}

TEST(CliTest, QuantizeBadInputWritesNothing) {
  const std::string out = test::temp_dir() + "/never";
  const std::string base = "quantize " + kModel + " --out " + out + " --quiet ";
  const std::string calib = " --calib 'fashion-mnist:train[0:20]'";
  expect_input_error(gammaq(base + "--calib 'fashion-mnist:train[5:5]'"),
                     {"fashion-mnist:train[5:5]", "no images"});
  const std::string rgb = test::temp_dir() + "/rgb.npy";
  write_npy_f32(rgb, {2, 3, 32, 32}, std::vector<float>(2 * 3 * 32 * 32, 0.5f));
  expect_input_error(gammaq(base + "--calib npy:" + rgb), {"rgb.npy", "3x32x32", "1x28x28"});
  expect_input_error(gammaq(base + calib + " --test npy:" + rgb), {"rgb.npy", "3x32x32"});
  expect_input_error(gammaq(base + calib + " --wbits 1"), {"--wbits"});
  expect_input_error(gammaq(base + calib + " --abits 17"), {"--abits"});
  expect_input_error(gammaq(base + calib + " --bbits many"), {"--bbits"});
  expect_input_error(gammaq(base + calib + " --method entropy"), {"--method", "ggd, ristretto"});
  expect_input_error(gammaq(base + calib + " --mode turbo"), {"turbo"});
  // Tuning: needs labelled validation images, K >= 0.
  expect_input_error(gammaq(base + calib + " --tune a"), {"--tune", "--val"});
  const std::string gray = test::temp_dir() + "/gray.npy";
  write_npy_f32(gray, {4, 1, 28, 28}, std::vector<float>(4 * 784, 0.1f));
  expect_input_error(gammaq(base + calib + " --tune a --val npy:" + gray), {"gray.npy", "labels"});
  expect_input_error(
      gammaq(base + calib + " --tune a --val 'fashion-mnist:train[50000:50010]' --bft-k -1"),
      {"--bft-k"});
  expect_input_error(gammaq(base + calib + " --tune x --val 'fashion-mnist:train[50000:50010]'"),
                     {"--tune"});
  expect_input_error(
      gammaq(base + calib +
             " --tune a --float-activations --val 'fashion-mnist:train[50000:50010]'"),
      {"--float-activations"});
  const std::pair<std::string, std::vector<std::string>> overrides[] = {
      {R"({"layers": {)", {"not valid JSON"}},
      {R"([1, 2])", {"layers"}},
      {R"({"layers": {"no_such_conv": {"wbits": 4}}})", {"no_such_conv"}},
      {R"({"layers": {"/stem/stem.0/Conv": {"wbits": 40}}})", {"/stem/stem.0/Conv", "40"}},
      {R"({"layers": {"/stem/stem.0/Conv": {"wbits": "four"}}})", {"/stem/stem.0/Conv", "wbits"}},
      {R"({"tensors": {"no_such_tensor": {"abits": 4}}})", {"no_such_tensor"}},
      {R"({"weights": {}})", {"weights"}},
      {R"({"tensors": {"input": {"frac": 3.5}}})", {"input", "frac"}},
      {R"({"tensors": {"input": {"frac": 3, "step": 1}}})", {"input", "step"}},
      {R"({"tensors": {"input": {"fract": 3}}})", {"input", "abits"}},
  };
  for (const auto& [text, names] : overrides) {
    const std::string path = write_bytes("overrides.json", text);
    const Result r = gammaq(base + calib + " --overrides " + path);
    EXPECT_EQ(r.code, 2) << text << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find("overrides.json"), std::string::npos) << r.err;
    for (const auto& n : names) EXPECT_NE(r.err.find(n), std::string::npos) << n << ": " << r.err;
  }
  EXPECT_FALSE(fs::exists(out));
}

// Output paths are input: every command's output path that is an existing regular file, a
// folder that cannot be created (under /proc), or a file in a missing folder is refused up
// front with one line naming it, exit 2, and nothing written.
TEST(CliTest, BadOutputPathsWriteNothing) {
  const std::string root = test::temp_dir() + "/outpaths";
  fs::create_directories(root + "/report-dir");
  const std::string file = root + "/a-file";
  write_text_file(file, "keep\n");
  const std::string calib = " --calib 'fashion-mnist:train[0:8]' --quiet";
  const std::string val = " --val 'fashion-mnist:train[59000:59008]'";
  const std::string test = " --test 'fashion-mnist:test[0:8]'";
  // Each command with its output option last, so the path can be appended.
  const std::vector<std::pair<std::string, bool>> commands = {
      // (command, output is a folder)
      {"quantize " + kModel + calib + " --out ", true},
      {"compare " + kModel + calib + test + " --bits 8 --methods ggd --out ", true},
      {"sweep " + kModel + calib + " --bits 8 --out ", true},
      {"mixed " + kModel + calib + test + " --out ", true},
      {"sensitivity " + kModel + calib + val + " --bits 4 --out ", true},
      {"profile " + kModel + " --batch 1 --repeat 1 --quiet --out ", true},
      {"export " + root + "/no-quant --format c -o ", true},
      {"export " + root + "/no-quant --format qdq -o ", false},
      {"report " + root + "/report-dir --out ", false},
      {"eval " + kModel + " --data 'fashion-mnist:test[0:8]' --logits ", false},
  };
  for (const auto& [cmd, folder] : commands) {
    SCOPED_TRACE(cmd);
    // An existing regular file where a folder is wanted, or a file inside a file.
    const std::string in_file = folder ? file : file + "/out.onnx";
    expect_input_error(gammaq(cmd + in_file), {in_file});
    EXPECT_EQ(slurp(file), "keep\n");
    // A folder the system will not create.
    const std::string proc = folder ? "/proc/gammaq-x" : "/proc/gammaq-x/out.onnx";
    expect_input_error(gammaq(cmd + proc), {proc});
    EXPECT_FALSE(fs::exists("/proc/gammaq-x"));
    if (!folder) {  // a file where a folder is: refused too
      expect_input_error(gammaq(cmd + root + "/report-dir"), {"report-dir"});
      expect_input_error(gammaq(cmd + root + "/missing/out.onnx"), {"missing"});
      EXPECT_FALSE(fs::exists(root + "/missing"));
    }
  }
  // Nothing besides what the test made.
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::recursive_directory_iterator(root)) ++entries;
  EXPECT_EQ(entries, 2u);
}

// An overrides file can pin a tensor's frac (and width); everything else is still chosen.
TEST(CliTest, QuantizeOverridesPinATensor) {
  const std::string out = test::temp_dir() + "/pinned";
  const std::string pins = write_bytes(
      "pins.json",
      R"({"tensors": {"input": {"frac": 2, "abits": 7}}, "layers": {"/stem/stem.0/Conv": {"wbits": 5}}})");
  const Result r = gammaq("quantize " + kModel +
                          " --calib 'fashion-mnist:train[0:64]' --quiet --threads 1 --overrides " +
                          pins + " --out " + out);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto plan = nlohmann::json::parse(slurp(out + "/quant.json"));
  EXPECT_EQ(plan["activations"]["input"]["frac"], 2);
  EXPECT_EQ(plan["activations"]["input"]["bits"], 7);
  EXPECT_TRUE(plan["activations"]["input"]["sqnr_db"].is_number());
  EXPECT_EQ(plan["layers"]["/stem/stem.0/Conv"]["weight"]["bits"], 5);
  EXPECT_EQ(plan["activations"]["logits"]["bits"], 8);
}

// Mixed precision: a threshold promotes exactly the layers whose low-width SQNR is below it,
// -inf none and +inf all; the average width follows.
TEST(CliTest, MixedPromotesTheLayersUnderTheThreshold) {
  const std::string out = test::temp_dir() + "/mixed";
  const Result r = gammaq("mixed " + kModel +
                          " --calib 'fashion-mnist:train[0:64]' --test 'fashion-mnist:test[0:64]'"
                          " --what w --low 3 --high 8 --thresholds=-inf,15,inf --quiet"
                          " --threads 1 --out " +
                          out);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(slurp(out + "/mixed.json"));
  const auto& ranked = j["ranked"];
  ASSERT_GT(ranked.size(), 10u);
  size_t under = 0;
  for (size_t i = 0; i < ranked.size(); ++i) {
    if (i > 0) {
      EXPECT_LE(ranked[i - 1]["sqnr_db"].get<double>(), ranked[i]["sqnr_db"].get<double>());
    }
    under += ranked[i]["sqnr_db"].get<double>() < 15.0;
  }
  EXPECT_GT(under, 0u);  // at 3 bits, 15 dB splits the layers (else the test checks little)
  EXPECT_LT(under, ranked.size());
  const auto& rows = j["thresholds"];
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0]["promoted"], 0);
  EXPECT_EQ(rows[0]["average_bits"], 3.0);
  EXPECT_EQ(rows[1]["promoted"], under);
  EXPECT_EQ(rows[2]["promoted"], ranked.size());
  EXPECT_EQ(rows[2]["average_bits"], 8.0);
  EXPECT_GT(rows[2]["top1"].get<double>(), rows[0]["top1"].get<double>());
}

// Feature-map mode: every feature map is a candidate, the input image included; +inf
// promotes them all (the w8a8 plan).
TEST(CliTest, MixedFeatureMapsIncludeTheInput) {
  const std::string out = test::temp_dir() + "/mixed-a";
  const Result r = gammaq("mixed " + kModel +
                          " --calib 'fashion-mnist:train[0:64]' --test 'fashion-mnist:test[0:32]'"
                          " --what a --thresholds inf --quiet --threads 1 --out " +
                          out);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(slurp(out + "/mixed.json"));
  bool input = false;
  for (const auto& t : j["ranked"]) input = input || t["name"] == "input";
  EXPECT_TRUE(input);
  EXPECT_EQ(j["thresholds"][0]["promoted"], j["ranked"].size());
  EXPECT_EQ(j["thresholds"][0]["average_bits"], 8.0);
  // Everything promoted is the w8a8 plan: the same accuracy as quantize at 8 bits.
  const Result q = gammaq("quantize " + kModel +
                          " --calib 'fashion-mnist:train[0:64]' --test 'fashion-mnist:test[0:32]'"
                          " --wbits 8 --abits 8 --json --quiet --threads 1 --out " +
                          out + "/w8a8");
  ASSERT_EQ(q.code, 0) << q.err;
  EXPECT_EQ(j["thresholds"][0]["top1"], nlohmann::json::parse(q.out)["quantized"]["top1"]);
}

// Joint mode ranks weights and feature maps together; +inf is again the w8a8 plan.
TEST(CliTest, MixedJointRanksBoth) {
  const std::string out = test::temp_dir() + "/mixed-wa";
  const Result r = gammaq("mixed " + kModel +
                          " --calib 'fashion-mnist:train[0:64]' --test 'fashion-mnist:test[0:32]'"
                          " --what wa --thresholds=-inf,inf --quiet --threads 1 --out " +
                          out);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(slurp(out + "/mixed.json"));
  int weights = 0, maps = 0;
  for (const auto& t : j["ranked"]) (t["kind"] == "weight" ? weights : maps)++;
  EXPECT_GT(weights, 10);
  EXPECT_GT(maps, 10);
  EXPECT_EQ(j["thresholds"][0]["promoted"], 0);
  EXPECT_EQ(j["thresholds"][1]["promoted"], j["ranked"].size());
  EXPECT_GT(j["thresholds"][1]["top1"].get<double>(), j["thresholds"][0]["top1"].get<double>());
}

TEST(CliTest, MixedBadOptions) {
  const std::string base = "mixed " + kModel +
                           " --calib 'fashion-mnist:train[0:16]' --test 'fashion-mnist:test[0:16]'"
                           " --quiet --out " +
                           test::temp_dir() + "/never-mixed ";
  expect_input_error(gammaq(base + "--thresholds 8,ten"), {"--thresholds", "ten"});
  expect_input_error(gammaq(base + "--low 8 --high 4"), {"--low"});
  expect_input_error(gammaq(base + "--max-loss 1"), {"--max-loss", "--val"});
  expect_input_error(gammaq(base + "--what x"), {"--what"});
  EXPECT_FALSE(fs::exists(test::temp_dir() + "/never-mixed"));
}

// compare: the issue's schema, one row per method and width in order, and each saved plan
// scores as eval --quant scores it.
TEST(CliTest, CompareWritesTheTableAndEveryPlan) {
  const std::string out = test::temp_dir() + "/compare";
  const std::string data = " --calib 'fashion-mnist:train[0:64]' --test 'fashion-mnist:test[0:64]'";
  const Result r = gammaq("compare " + kModel + data +
                          " --bits 4,8 --methods ggd,max,kl --quiet --threads 1 --out " + out);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("### w4a4"), std::string::npos) << r.out;
  const auto j = nlohmann::json::parse(slurp(out + "/compare.json"));
  EXPECT_EQ(j["model"], "googlenet");
  EXPECT_EQ(j["passes"], 2);
  ASSERT_EQ(j["rows"].size(), 6u);
  for (const auto& row : j["rows"]) {
    for (const char* key : {"bits", "method", "wmethod", "top1", "top5", "ties", "fm_sqnr_mean_db",
                            "fm_sqnr_min_db", "seconds", "warning"})
      EXPECT_TRUE(row.contains(key)) << key;
    EXPECT_EQ(row["wmethod"], "alg1");
    EXPECT_LE(row["top1"].get<double>(), row["top5"].get<double>());
    EXPECT_LE(row["fm_sqnr_min_db"].get<double>(), row["fm_sqnr_mean_db"].get<double>());
  }
  EXPECT_EQ(j["rows"][0]["bits"], 4);
  EXPECT_EQ(j["rows"][5]["method"], "kl");
  EXPECT_TRUE(fs::exists(out + "/compare.md"));
  const Result e = gammaq("eval " + kModel + " --data 'fashion-mnist:test[0:64]' --quant " + out +
                          "/plans/max-w8a8.json --json --threads 1");
  ASSERT_EQ(e.code, 0) << e.err;
  EXPECT_EQ(nlohmann::json::parse(e.out)["top1"], j["rows"][4]["top1"]);

  // --wlevels: every row takes NUUQ weights, and says so.
  const Result n =
      gammaq("compare " + kModel + data +
             " --bits 8 --methods ggd --wlevels 4 --quiet --threads 1 --out " + out + "-nuuq");
  ASSERT_EQ(n.code, 0) << n.err;
  const auto jn = nlohmann::json::parse(slurp(out + "-nuuq/compare.json"));
  EXPECT_EQ(jn["rows"][0]["wmethod"], "nuuq4");
  const auto plan = nlohmann::json::parse(slurp(out + "-nuuq/plans/ggd-w8a8.json"));
  for (const auto& [name, l] : plan["layers"].items())
    EXPECT_LE(l["weight"]["codebooks"][0]["levels"].size(), 4u) << name;
}

TEST(CliTest, CompareBadOptionsWriteNothing) {
  const std::string never = test::temp_dir() + "/never-compare";
  const std::string base = "compare " + kModel +
                           " --calib 'fashion-mnist:train[0:16]' --test 'fashion-mnist:test[0:16]'"
                           " --quiet --out " +
                           never + " ";
  expect_input_error(gammaq(base + "--methods ggd,entropy"), {"--methods", "entropy"});
  expect_input_error(gammaq(base + "--bits 4,20"), {"--bits", "20"});
  expect_input_error(gammaq(base + "--percentile 0"), {"--percentile"});
  expect_input_error(gammaq(base + "--bias-correction"), {"--bias-correction"});
  expect_input_error(gammaq("compare " + kModel + " --calib 'fashion-mnist:train[0:16]' --quiet"),
                     {"--test"});
  EXPECT_FALSE(fs::exists(never));
}

// NUUQ weights end to end: the storage figures, the plan scores the same through eval --quant,
// the integer engine runs it, and a quant.json with a broken codebook is refused.
TEST(CliTest, NuuqWeightsQuantizeEvalRunAndExport) {
  const std::string out = test::temp_dir() + "/nuuq";
  const Result q = gammaq("quantize " + kModel +
                          " --calib 'fashion-mnist:train[0:64]' --test 'fashion-mnist:test[0:64]'"
                          " --wbits 8 --abits 8 --wlevels 3 --json --quiet --threads 1 --out " +
                          out);
  ASSERT_EQ(q.code, 0) << q.err;
  const auto s = nlohmann::json::parse(q.out);
  const auto& ws = s["weight_storage"];
  EXPECT_NEAR(ws["bits_eq"].get<double>(), std::log2(3.0), 1e-9);
  EXPECT_NEAR(ws["bits_stored"].get<double>(), 1.6, 0.01);
  EXPECT_LT(ws["bytes"].get<int64_t>(), ws["uniform_bytes"].get<int64_t>() / 4);
  EXPECT_EQ(ws["float_bytes"].get<int64_t>(), 4 * ws["weights"].get<int64_t>());
  ASSERT_NO_FATAL_FAILURE(expect_scored_alike(out, s["quantized"]["top1"]));
  const Result c = gammaq("export " + out + " --format c -o " + out + "/report-c");
  ASSERT_EQ(c.code, 0) << c.err;

  auto plan = nlohmann::json::parse(slurp(out + "/quant.json"));
  auto& layer = plan["layers"].begin().value()["weight"]["codebooks"][0];
  layer["bounds"].push_back(999);  // one bound too many
  write_bytes("bad_nuuq.json", plan.dump());
  expect_input_error(gammaq("eval " + kModel + " --data 'fashion-mnist:test[0:8]' --quant " +
                            test::temp_dir() + "/bad_nuuq.json"),
                     {"codebooks"});
  const std::string base = "quantize " + kModel +
                           " --calib 'fashion-mnist:train[0:8]' --quiet --out " + test::temp_dir() +
                           "/never-nuuq ";
  expect_input_error(gammaq(base + "--wlevels 1"), {"--wlevels"});
  expect_input_error(gammaq(base + "--nuuq-zero"), {"--wlevels"});
  EXPECT_FALSE(fs::exists(test::temp_dir() + "/never-nuuq"));
}

// Threshold quantizers end to end: quant.json carries each feature map's table, eval --quant and
// the integer engine score the plan the same, the c export writes the comparator tables, QDQ
// refuses it, and compare --wmethods crosses weight rules with methods.
TEST(CliTest, ThresholdQuantizersQuantizeRunExportAndCompare) {
  const std::string out = test::temp_dir() + "/thr";
  const Result q = gammaq("quantize " + kModel +
                          " --calib 'fashion-mnist:train[0:64]' --test 'fashion-mnist:test[0:64]'"
                          " --wbits 4 --abits 4 --method threshold --wthreshold empirical"
                          " --threshold-lloyd --json --quiet --threads 1 --out " +
                          out);
  ASSERT_EQ(q.code, 0) << q.err;
  const auto s = nlohmann::json::parse(q.out);
  const auto plan = nlohmann::json::parse(slurp(out + "/quant.json"));
  int tables = 0;
  for (const auto& [name, a] : plan["activations"].items())
    if (a.contains("table")) {
      ++tables;
      EXPECT_LE(a["table"]["levels"].size(), 16u) << name;
    }
  EXPECT_GT(tables, 10);
  for (const auto& [name, l] : plan["layers"].items())
    EXPECT_LE(l["weight"]["codebooks"][0]["levels"].size(), 16u) << name;
  ASSERT_NO_FATAL_FAILURE(expect_scored_alike(out, s["quantized"]["top1"]));
  const Result c = gammaq("export " + out + " --format c -o " + out + "/report-c");
  ASSERT_EQ(c.code, 0) << c.err;
  EXPECT_NE(slurp(out + "/report-c/gq_googlenet.h").find("_tacc"), std::string::npos);
  expect_input_error(gammaq("export " + out + " --format qdq -o " + out + "/m.onnx"),
                     {"threshold"});
  EXPECT_FALSE(fs::exists(out + "/m.onnx"));

  const Result cmp = gammaq("compare " + kModel +
                            " --calib 'fashion-mnist:train[0:64]' --test 'fashion-mnist:test[0:64]'"
                            " --bits 4 --methods ggd,threshold --wmethods alg1,threshold-normal"
                            " --quiet --threads 1 --out " +
                            out + "-cmp");
  ASSERT_EQ(cmp.code, 0) << cmp.err;
  const auto j = nlohmann::json::parse(slurp(out + "-cmp/compare.json"));
  ASSERT_EQ(j["rows"].size(), 4u);
  EXPECT_EQ(j["passes"], 2);
  EXPECT_EQ(j["rows"][0]["wmethod"], "alg1");
  EXPECT_EQ(j["rows"][3]["wmethod"], "threshold-normal");
  EXPECT_EQ(j["rows"][3]["method"], "threshold");
  EXPECT_TRUE(fs::exists(out + "-cmp/plans/threshold-threshold-normal-w4a4.json"));
  const std::string base = "quantize " + kModel +
                           " --calib 'fashion-mnist:train[0:8]' --quiet --out " + test::temp_dir() +
                           "/never-thr ";
  expect_input_error(gammaq(base + "--wthreshold gauss"), {"--wthreshold"});
  expect_input_error(gammaq(base + "--wthreshold normal --wlevels 4"), {"--wthreshold"});
  expect_input_error(gammaq(base + "--threshold-grid-bits 20"), {"--threshold-grid-bits"});
  EXPECT_FALSE(fs::exists(test::temp_dir() + "/never-thr"));
  expect_input_error(gammaq("compare " + kModel +
                            " --calib 'fashion-mnist:train[0:8]' --test 'fashion-mnist:test[0:8]'"
                            " --quiet --wmethods alg1,nuuq1 --out " +
                            test::temp_dir() + "/never-thr"),
                     {"--wmethods", "nuuq1"});
}

TEST(CliTest, EvalRejectsAPlanForAnotherModel) {
  const std::string out = test::temp_dir() + "/alex";
  const std::string alexnet = kRoot + "/models/alexnet.onnx";
  ASSERT_EQ(
      gammaq("quantize " + alexnet + " --calib 'fashion-mnist:train[0:32]' --quiet --out " + out)
          .code,
      0);
  const std::string logits = test::temp_dir() + "/never-logits.npy";
  expect_input_error(gammaq("eval " + kModel + " --data 'fashion-mnist:test[0:8]' --quant " + out +
                            "/quant.json --logits " + logits),
                     {"quant.json", "alexnet", "another model"});
  expect_input_error(gammaq("eval " + kModel + " --data 'fashion-mnist:test[0:8]' --quant " +
                            write_bytes("garbage.json", "{\"gammaq_quant\": 7}")),
                     {"garbage.json"});
  EXPECT_FALSE(fs::exists(logits));
}

// quantize --out DIR is a complete quantized model: run DIR executes it on integers, equal
// logit for logit to the simulation that quantize scored (the same top-1), and refuses what
// it cannot run with one line naming it.
TEST(CliTest, RunTheQuantizedModelOnIntegers) {
  const std::string out = test::temp_dir() + "/int";
  const Result q = gammaq("quantize " + kModel +
                          " --calib 'fashion-mnist:train[0:128]' --test 'fashion-mnist:test[0:128]'"
                          " --wbits 6 --abits 6 --json --quiet --threads 1 --out " +
                          out);
  ASSERT_EQ(q.code, 0) << q.err;
  ASSERT_TRUE(fs::exists(out + "/model.onnx"));
  const Result r =
      gammaq("run " + out + " --data 'fashion-mnist:test[0:128]' --verify fast --json --quiet");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["images"], 128);
  EXPECT_EQ(j["verify"]["logits"], 1280);
  EXPECT_EQ(j["verify"]["differing_logits"], 0);
  EXPECT_EQ(j["top1"], nlohmann::json::parse(q.out)["quantized"]["top1"]);

  expect_input_error(gammaq("run " + test::temp_dir() + "/nothing --data fashion-mnist:test"),
                     {"model.onnx"});
  expect_input_error(gammaq("run " + out + " --model " + kRoot +
                            "/models/alexnet.onnx --data 'fashion-mnist:test[0:8]'"),
                     {"quant.json", "another model"});
  // A plan with float feature maps has no integer form.
  const std::string wq = test::temp_dir() + "/wq";
  ASSERT_EQ(gammaq("quantize " + kModel +
                   " --calib 'fashion-mnist:train[0:32]' --float-activations --quiet --out " + wq)
                .code,
            0);
  expect_input_error(gammaq("run " + wq + " --data 'fashion-mnist:test[0:8]'"),
                     {"quant.json", "float"});
  // ... but exports to QDQ ONNX (weights quantized, feature maps float).
  const Result e = gammaq("export " + wq + " --format qdq -o " + wq + "/qdq.onnx");
  ASSERT_EQ(e.code, 0) << e.err;
  EXPECT_NE(e.out.find("0 feature maps quantized"), std::string::npos) << e.out;
  EXPECT_TRUE(fs::exists(wq + "/qdq.onnx"));
  expect_input_error(gammaq("export " + out + " --format qdq -o " + wq), {wq, "folder"});
  expect_input_error(gammaq("export " + out + " --format qdq --opset 12 -o " + wq + "/x.onnx"),
                     {"--opset 12"});
  expect_input_error(gammaq("export " + out + " --format qdq -o " + wq + "/no/dir/x.onnx"),
                     {wq + "/no/dir/x.onnx", "no folder"});
  EXPECT_FALSE(fs::exists(wq + "/x.onnx"));
}

}  // namespace
}  // namespace gammaq

namespace gammaq {
namespace {

size_t occurrences(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

// quantize --report draws the page; report DIR draws the same page again from the folder; report
// --data measures the same diagnostics on the same images whatever the thread count.
TEST(CliTest, ReportFromQuantizeAndFromTheFolder) {
  const std::string out = test::temp_dir() + "/report-q";
  const Result q = gammaq("quantize " + kModel +
                          " --calib 'fashion-mnist:train[0:64]' --test 'fashion-mnist:test[0:64]'"
                          " --wbits 6 --abits 6 --report --report-images 16 --quiet --threads 1"
                          " --out " +
                          out);
  ASSERT_EQ(q.code, 0) << q.err;
  EXPECT_TRUE(q.err.empty()) << q.err;  // --quiet
  const std::string page = slurp(out + "/report.html");
  ASSERT_FALSE(page.empty());
  const auto summary = nlohmann::json::parse(slurp(out + "/summary.json"));
  EXPECT_NE(summary["command"].get<std::string>().find("--report-images 16"), std::string::npos);
  EXPECT_NE(page.find("--report-images 16"), std::string::npos);  // the command line is shown
  const auto diag = nlohmann::json::parse(slurp(out + "/diagnostics.json"));
  EXPECT_EQ(diag["images"], 16);
  EXPECT_EQ(occurrences(page, "class=\"gq-figure\""),
            2 + diag["tensors"].size() +
                static_cast<size_t>(
                    std::count_if(diag["layers"].begin(), diag["layers"].end(),
                                  [](const nlohmann::json& l) { return l.contains("weight"); })));

  const Result r = gammaq("report " + out + " --quiet");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(slurp(out + "/report.html"), page);

  const Result d = gammaq("report " + out +
                          " --data 'fashion-mnist:test[0:16]' --images 16 --threads 2 --quiet"
                          " --out " +
                          out + "/again.html");
  ASSERT_EQ(d.code, 0) << d.err;
  const auto again = nlohmann::json::parse(slurp(out + "/diagnostics.json"));
  EXPECT_EQ(again["tensors"], diag["tensors"]);
  EXPECT_EQ(again["layers"], diag["layers"]);
  EXPECT_TRUE(fs::exists(out + "/again.html"));
}

TEST(CliTest, ReportBadFoldersWriteNothing) {
  const std::string root = test::temp_dir();
  expect_input_error(gammaq("report " + root + "/report-missing"), {"report-missing"});
  fs::create_directories(root + "/report-empty");
  expect_input_error(gammaq("report " + root + "/report-empty"), {"report-empty", "summary.json"});
  EXPECT_FALSE(fs::exists(root + "/empty/report.html"));

  fs::create_directories(root + "/report-corrupt");
  write_text_file(root + "/report-corrupt/summary.json", "{\"model\": \"googlenet\", \"lay");
  expect_input_error(gammaq("report " + root + "/report-corrupt"), {"summary.json"});
  EXPECT_FALSE(fs::exists(root + "/report-corrupt/report.html"));

  const std::string q = root + "/report-bad-q";
  const Result ok = gammaq("quantize " + kModel +
                           " --calib 'fashion-mnist:train[0:16]' --quiet --threads 1 --out " + q);
  ASSERT_EQ(ok.code, 0) << ok.err;
  write_text_file(q + "/sweep.json", "{\"model\": \"vgg\", \"bits\": [4], \"rows\": []}");
  expect_input_error(gammaq("report " + q), {"sweep.json", "vgg"});
  EXPECT_FALSE(fs::exists(q + "/report.html"));
  fs::remove(q + "/sweep.json");
  write_text_file(q + "/quant.json", "[1, 2]");
  expect_input_error(gammaq("report " + q + " --data 'fashion-mnist:test[0:4]'"), {"quant.json"});
  EXPECT_FALSE(fs::exists(q + "/diagnostics.json"));
  EXPECT_FALSE(fs::exists(q + "/report.html"));
  fs::remove(q + "/quant.json");
  expect_input_error(gammaq("report " + q + " --out " + root + "/no/such/dir/report.html"),
                     {"report.html"});
  EXPECT_FALSE(fs::exists(root + "/no"));
  expect_input_error(gammaq("report " + q + " --data 'fashion-mnist:test[0:4]' --images 0"),
                     {"--images"});
}

TEST(CliTest, SweepAndCompareDrawTheirReports) {
  const std::string root = test::temp_dir();
  const std::string data = " --calib 'fashion-mnist:train[0:32]' --test 'fashion-mnist:test[0:32]'";
  const Result c = gammaq("compare " + kModel + data +
                          " --bits 4,8 --methods ggd,max --quiet --threads 1 --report --out " +
                          root + "/report-c");
  ASSERT_EQ(c.code, 0) << c.err;
  const std::string cp = slurp(root + "/report-c/report.html");
  for (const char* id : {"id=\"compare-top1\"", "id=\"compare-sqnr-4\"", "id=\"compare-sqnr-8\""})
    EXPECT_NE(cp.find(id), std::string::npos) << id;
  EXPECT_GT(nlohmann::json::parse(slurp(root + "/report-c/compare.json"))["tensors"].size(), 10u);
  const Result s = gammaq("sweep " + kModel + data +
                          " --bits 4,8 --schemes WQ,WQ_FQ --quiet --threads 1 --report --out " +
                          root + "/report-s");
  ASSERT_EQ(s.code, 0) << s.err;
  EXPECT_NE(slurp(root + "/report-s/report.html").find("id=\"sweep-top1\""), std::string::npos);
  expect_input_error(gammaq("compare " + kModel + data + " --bits 4 --methods ggd --report"),
                     {"--report", "--out"});
}

// sensitivity --json follows the issue's schema, ranks worst first, and its keep.json is an
// overrides file quantize takes; its folder draws a report.
TEST(CliTest, SensitivityRanksSuggestsAndReports) {
  const std::string out = test::temp_dir() + "/sensitivity";
  const Result r = gammaq("sensitivity " + kModel +
                          " --calib 'fashion-mnist:train[0:32]' --val "
                          "'fashion-mnist:train[59000:59064]' --bits 3 --attempts 2 --json --quiet "
                          "--threads 1 --out " +
                          out);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["bits"], 3);
  EXPECT_TRUE(j["float_top1"].is_number());
  ASSERT_GT(j["layers"].size(), 40u);
  double last = -1;
  for (const auto& l : j["layers"]) {
    EXPECT_TRUE(l["name"].is_string());
    EXPECT_TRUE(l["tensor"] == "weight" || l["tensor"] == "output") << l;
    EXPECT_GE(l["top1"].get<double>(), last);  // worst first
    last = l["top1"].get<double>();
    EXPECT_TRUE(l["sqnr_db"].is_number() || l["sqnr_db"].is_null());
  }
  const auto& s = j["suggestion"];
  EXPECT_EQ(s["bits"], 8);
  EXPECT_TRUE(s["keep"].is_array());
  EXPECT_TRUE(s["predicted_loss"].is_number());
  EXPECT_TRUE(s["measured_loss"].is_number());
  EXPECT_EQ(nlohmann::json::parse(slurp(out + "/sensitivity.json")), j);
  const Result q = gammaq("quantize " + kModel +
                          " --calib 'fashion-mnist:train[0:32]' --wbits 3 --abits 3 --quiet "
                          "--threads 1 --out " +
                          out + "/q --overrides " + out + "/keep.json");
  ASSERT_EQ(q.code, 0) << q.err;
  const Result rep = gammaq("report " + out + " --quiet");
  ASSERT_EQ(rep.code, 0) << rep.err;
  EXPECT_NE(slurp(out + "/report.html").find("id=\"sensitivity-loss\""), std::string::npos);

  const std::string never = test::temp_dir() + "/never-sensitivity";
  const std::string base =
      "sensitivity " + kModel + " --calib 'fashion-mnist:train[0:8]' --quiet --out " + never;
  expect_input_error(gammaq(base + " --val 'fashion-mnist:train[0:8]' --bits 20"), {"--bits"});
  expect_input_error(gammaq(base + " --val 'fashion-mnist:train[0:8]' --max-loss -1"),
                     {"--max-loss"});
  expect_input_error(gammaq(base), {"--val"});
  EXPECT_FALSE(fs::exists(never));
}

// profile --json: every node with its MACs and both timings; written into the quantize DIR so
// that report DIR draws it; a quant.json of another model is refused.
TEST(CliTest, ProfileTimesEveryLayerAndReports) {
  const std::string q = test::temp_dir() + "/profile-q";
  const Result ok = gammaq("quantize " + kModel +
                           " --calib 'fashion-mnist:train[0:16]' --quiet --threads 1 --out " + q);
  ASSERT_EQ(ok.code, 0) << ok.err;
  const Result r = gammaq("profile " + kModel + " --quant " + q +
                          " --batch 4 --repeat 1 --threads 1 --json --quiet");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["batch"], 4);
  ASSERT_GT(j["layers"].size(), 10u);
  for (const auto& l : j["layers"]) {
    EXPECT_GE(l["float_ms"].get<double>(), 0.0);
    EXPECT_GE(l["integer_ms"].get<double>(), 0.0);
    EXPECT_EQ(l["float_gops"].is_null(), l["macs"].get<int64_t>() == 0) << l;
  }
  EXPECT_TRUE(j["integer_not_faster"].is_array());
  EXPECT_EQ(nlohmann::json::parse(slurp(q + "/profile.json")), j);
  ASSERT_EQ(gammaq("report " + q + " --quiet").code, 0);
  EXPECT_NE(slurp(q + "/report.html").find("id=\"profile-ms\""), std::string::npos);

  const Result other =
      gammaq("profile " + kRoot + "/models/resnet.onnx --quant " + q + " --repeat 1 --quiet");
  expect_input_error(other, {"quant.json"});
  expect_input_error(gammaq("profile " + kModel + " --batch 0 --quiet"), {"--batch"});
}

// Progress goes to stderr only: one line per stage when stderr is not a terminal, nothing with
// --quiet; stdout stays the JSON.
TEST(CliTest, ProgressIsOneLinePerStageOffATerminal) {
  const Result r =
      gammaq("eval " + kModel + " --data 'fashion-mnist:test[0:100]' --batch 32 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(nlohmann::json::parse(r.out).contains("top1")) << r.out;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("100/100 images in"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("images/s"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\r'), std::string::npos);
  const Result q = gammaq("eval " + kModel + " --data 'fashion-mnist:test[0:100]' --json --quiet");
  EXPECT_TRUE(q.err.empty()) << q.err;
}

// --input-shape and --outputs on a two-head detector with symbolic H and W and post-processing
// gammaq does not read: quantize records them in quant.json; eval --quant of that plan on the
// model imported otherwise names them; export reads them back and writes both heads.
TEST(CliTest, InputShapeAndOutputsTravelWithTheQuantJson) {
  test::OnnxBuilder b(13);
  b.input("x", {2, -1, -1}).output("selected");
  b.initializer("w", {3, 2, 3, 3}, test::random_values(54, 1));
  test::attr_ints(b.node("Conv", {"x", "w"}, {"feat"}), "pads", {1, 1, 1, 1});
  b.node("Relu", {"feat"}, {"act"});
  b.initializer("wb", {4, 3, 1, 1}, test::random_values(12, 2));
  b.node("Conv", {"act", "wb"}, {"boxes"});
  b.initializer("ws", {2, 3, 1, 1}, test::random_values(6, 3));
  b.node("Conv", {"act", "ws"}, {"scores"});
  b.node("NonMaxSuppression", {"boxes", "scores"}, {"selected"}, "nms");
  const std::string model = write_bytes("detector.onnx", b.bytes());
  const std::string dir = test::temp_dir(), x = dir + "/det_x.npy", y = dir + "/det_y.npy";
  ASSERT_TRUE(test::write_npy_f32(x, Tensor(Shape{8, 2, 6, 6}, test::random_values(576, 4))));
  ASSERT_TRUE(test::write_npy_i64(y, {0, 1, 2, 3, 4, 5, 6, 7}));
  const std::string data = " npy:" + x + "," + y;
  expect_input_error(gammaq("inspect " + model), {"'nms'", "NonMaxSuppression", "--outputs"});
  const std::string how = " --input-shape 1,2,6,6 --outputs scores,boxes";
  expect_input_error(gammaq("inspect " + model + " --outputs scores,nope"),
                     {"--outputs", "'nope'"});
  expect_input_error(gammaq("inspect " + model + " --input-shape 1,3,6,6 --outputs scores"),
                     {"--input-shape 1,3,6,6", "dimension 1 is 2"});
  const Result i = gammaq("inspect " + model + how + " --json");
  ASSERT_EQ(i.code, 0) << i.err;
  const auto ij = nlohmann::json::parse(i.out);
  ASSERT_EQ(ij["outputs"].size(), 2u);
  EXPECT_EQ(ij["outputs"][1]["name"], "boxes");
  EXPECT_EQ(ij["outputs"][1]["shape"], (std::vector<int64_t>{1, 4, 6, 6}));

  const std::string out = dir + "/det_q";
  const Result q = gammaq("quantize " + model + how + " --calib" + data + " --test" + data +
                          " --out " + out + " --quiet");
  ASSERT_EQ(q.code, 0) << q.err;
  const auto plan = nlohmann::json::parse(slurp(out + "/quant.json"));
  EXPECT_EQ(plan["import"]["outputs"], (std::vector<std::string>{"scores", "boxes"}));
  EXPECT_EQ(plan["import"]["input_shape"], (std::vector<int64_t>{1, 2, 6, 6}));
  expect_input_error(gammaq("eval " + model + " --outputs scores --input-shape 1,2,6,6 --data" +
                            data + " --quant " + out + "/quant.json"),
                     {"quant.json", "--outputs scores,boxes", "import it the same way"});
  const Result e =
      gammaq("eval " + model + how + " --data" + data + " --quant " + out + "/quant.json --json");
  ASSERT_EQ(e.code, 0) << e.err;
  const Result x2 = gammaq("export " + out + " --format qdq -o " + out + "/qdq.onnx");
  ASSERT_EQ(x2.code, 0) << x2.err;
  onnx::ModelProto m;
  std::ifstream f(out + "/qdq.onnx", std::ios::binary);
  ASSERT_TRUE(m.ParseFromIstream(&f));
  ASSERT_EQ(m.graph().output_size(), 2);
  for (const auto& n : m.graph().node()) EXPECT_NE(n.op_type(), "NonMaxSuppression");

  // Unlabelled images: quantize scores every head against float (mean IoU of the per-pixel
  // classes, SQNR) and tunes on top-1 agreement when asked; tuning on labels they lack is
  // exit 2.
  const std::string unlabelled = " npy:" + x;
  const std::string out2 = dir + "/det_u";
  const Result u = gammaq("quantize " + model + how + " --calib" + unlabelled + " --test" +
                          unlabelled + " --tune a --val" + unlabelled +
                          " --metric agreement --out " + out2 + " --quiet --json");
  ASSERT_EQ(u.code, 0) << u.err;
  const auto summary = nlohmann::json::parse(u.out);
  EXPECT_FALSE(summary.contains("float"));
  ASSERT_EQ(summary["agreement"]["outputs"].size(), 2u);
  for (const auto& o : summary["agreement"]["outputs"]) {
    EXPECT_GE(o["miou"].get<double>(), 0.5) << o;
    EXPECT_LE(o["miou"].get<double>(), 1.0) << o;
    EXPECT_TRUE(o["sqnr_db"].is_null() || o["sqnr_db"].get<double>() > 10) << o;
  }
  expect_input_error(gammaq("quantize " + model + how + " --calib" + unlabelled +
                            " --tune a --val" + unlabelled + " --out " + dir + "/never_u --quiet"),
                     {"labels", "--metric agreement"});
  EXPECT_FALSE(fs::exists(dir + "/never_u"));
  // Commands that score top-1 take unlabelled data as labelled by float's top-1 (agreement):
  // every row of compare then agrees with float on most images, float itself on all.
  const Result c = gammaq("compare " + model + how + " --calib" + unlabelled + " --test" +
                          unlabelled + " --methods max --bits 8 --out " + dir + "/det_cmp");
  ASSERT_EQ(c.code, 0) << c.err;
  EXPECT_NE(c.err.find("labelled with the float model's top-1"), std::string::npos) << c.err;
  const auto cj = nlohmann::json::parse(slurp(dir + "/det_cmp/compare.json"));
  EXPECT_EQ(cj["float"]["top1"], 1.0);
}

}  // namespace
}  // namespace gammaq
