// The report's measurements (diagnostics) against direct computation, and the page drawn from
// them: every section and figure present, nothing external, bad folders refused by name.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "engine/fake_quant.h"
#include "gammaq/dataset.h"
#include "gammaq/error.h"
#include "ir/passes.h"
#include "onnx/import.h"
#include "pipeline/quantize.h"
#include "pipeline/summary.h"
#include "quant/format.h"
#include "report/diagnostics.h"
#include "report/html.h"
#include "report/svg.h"
#include "support/onnx_builder.h"

namespace gammaq {
namespace {

using report::Json;

struct Fixture {
  Graph g;
  Preprocess pre;
  std::unique_ptr<Dataset> calib, data;
  explicit Fixture(const std::string& name) {
    g = import_onnx_file(std::string(GAMMAQ_SOURCE_DIR) + "/models/" + name + ".onnx");
    (void)optimize(g);
    pre = parse_preprocess_json(g.metadata.at("gammaq.preprocess"));
    calib = open_dataset("fashion-mnist:train[0:24]", pre);
    data = open_dataset("fashion-mnist:test[0:20]", pre);
  }
  QuantizeReport quantize(int bits) {
    QuantizeOptions o;
    o.threads = 1;
    o.quiet = true;
    o.batch = 8;
    o.wbits = o.abits = bits;
    return quantize_model(g, *calib, o);
  }
  Json diagnose(const quant::QuantPlan& plan) {
    report::DiagnoseOptions o;
    o.images = 16;
    o.batch = 6;  // not a divisor of 16: a short last batch
    o.threads = 1;
    o.data = "fashion-mnist:test[0:20]";
    return report::diagnose(g, plan, *data, o);
  }
};

const Json* find_named(const Json& list, const std::string& name) {
  for (const auto& x : list)
    if (x["name"] == name) return &x;
  return nullptr;
}

TEST(Diagnostics, HistogramsSqnrAndAccumulatorsAgreeWithDirectComputation) {
  Fixture f("resnet");
  const QuantizeReport r = f.quantize(6);
  const Json d = f.diagnose(r.plan);
  EXPECT_EQ(d["images"], 16);
  ASSERT_EQ(d["tensors"].size(), f.g.nodes.size() + 1);
  for (const auto& t : d["tensors"]) {
    SCOPED_TRACE(t["name"].get<std::string>());
    int64_t counted = 0;
    for (int64_t c : t["histogram"]["counts"]) counted += c;
    const auto values = t["values"].get<int64_t>();
    const double zeros = t["zero_fraction"].get<double>() * static_cast<double>(values);
    EXPECT_EQ(counted + std::llround(zeros), values);  // every value is a zero or in a bin
    if (t["saturation"].is_number()) {
      EXPECT_GE(t["saturation"].get<double>(), 0.0);
      EXPECT_LE(t["saturation"].get<double>(), 1.0);
    }
  }
  // The input: nothing upstream, so cumulative = isolated = SQNR of Q(x) computed here.
  const std::string input = f.g.values[f.g.input].name;
  const Json& in = *find_named(d["tensors"], input);
  const quant::Format fmt = r.plan.activations.at(input).format;
  const Batch b = f.data->read(0, 16);
  double signal = 0, noise = 0;
  for (float v : b.images.data) {
    const double e = v - quant::fake_quant(static_cast<double>(v), fmt, r.plan.rounding);
    signal += double(v) * v;
    noise += e * e;
  }
  EXPECT_NEAR(in["sqnr_isolated_db"].get<double>(), 10 * std::log10(signal / noise), 1e-9);
  EXPECT_NEAR(in["sqnr_cumulative_db"].get<double>(), in["sqnr_isolated_db"].get<double>(), 1e-9);
  // Downstream, upstream errors add up: the logits' cumulative SQNR is below their isolated one.
  const Json& out = *find_named(d["tensors"], f.g.values[f.g.output].name);
  EXPECT_LT(out["sqnr_cumulative_db"].get<double>(), out["sqnr_isolated_db"].get<double>());
  int with_acc = 0;
  for (const auto& l : d["layers"]) {
    if (!l.contains("accumulator")) continue;
    SCOPED_TRACE(l["name"].get<std::string>());
    ++with_acc;
    const Json& a = l["accumulator"];
    ASSERT_TRUE(a["observed_bits"].is_number());
    EXPECT_LE(a["observed_bits"].get<int>(), a["bound_bits"].get<int>());
    EXPECT_LE(a["bound_bits"].get<int>(), 32);  // 6-bit operands, fan-in < 2^19
    EXPECT_GT(l["macs"].get<int64_t>(), 0);
  }
  EXPECT_EQ(with_acc, static_cast<int>(r.plan.layers.size()));
}

TEST(Diagnostics, SixteenBitsIsNearlyExactAndAFineStepSaturates) {
  Fixture f("resnet");
  QuantizeReport r = f.quantize(16);
  const Json d = f.diagnose(r.plan);
  for (const auto& t : d["tensors"]) {
    if (!t["sqnr_isolated_db"].is_number()) continue;
    SCOPED_TRACE(t["name"].get<std::string>());
    EXPECT_GT(t["sqnr_isolated_db"].get<double>(), 60.0);
    EXPECT_GT(t["sqnr_cumulative_db"].get<double>(), 40.0);
  }
  // The input's step 64 times finer: its range shrinks 64 times, most values saturate.
  const std::string input = f.g.values[f.g.input].name;
  r.plan.activations.at(input).format.frac += 6;
  const Json s = f.diagnose(r.plan);
  const Json& in = *find_named(s["tensors"], input);
  EXPECT_GT(in["saturation"].get<double>(), 0.3);
  EXPECT_LT(in["sqnr_isolated_db"].get<double>(), 10.0);
}

std::string write_file(const std::string& dir, const std::string& name, const std::string& text) {
  std::ofstream(dir + "/" + name) << text;
  return dir + "/" + name;
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

TEST(Report, DrawsEverySectionSelfContainedAndDeterministic) {
  Fixture f("resnet");
  const QuantizeReport r = f.quantize(4);
  Accuracy fa, qa;
  fa.images = qa.images = 100;
  fa.top1_correct = 90;
  qa.top1_correct = 80;
  qa.tied_top1 = 3;
  const std::string dir = test::temp_dir();
  Json summary = Json::parse(summary_json(f.g, r, fa, qa, 1.5, "none", "gammaq quantize x"));
  summary["model"] = "<b>" + summary["model"].get<std::string>();  // must be escaped
  write_file(dir, "summary.json", summary.dump());
  Json plan = Json::parse(quant::plan_to_json(r.plan));
  plan["model"] = summary["model"];
  write_file(dir, "quant.json", plan.dump());
  Json d = f.diagnose(r.plan);
  d["model"] = summary["model"];
  write_file(dir, "diagnostics.json", d.dump());

  const report::ReportInputs in = report::load_report_inputs(dir);
  const std::string html = report::render_html(in);
  EXPECT_EQ(html, report::render_html(report::load_report_inputs(dir)));
  // One figure per stage-time chart, SQNR chart, feature map (histogram) and weighted layer.
  EXPECT_EQ(count(html, "class=\"gq-figure\""), 2 + d["tensors"].size() + r.plan.layers.size());
  EXPECT_EQ(count(html, "class=\"gq-figure-alt\""), d["tensors"].size());  // log-scale copies
  for (const char* id : {"id=\"run\"", "id=\"layers\"", "id=\"feature-maps\"", "id=\"weights\"",
                         "id=\"sqnr-per-layer\""})
    EXPECT_NE(html.find(id), std::string::npos) << id;
  EXPECT_EQ(html.find("<b>resnet"), std::string::npos);
  EXPECT_NE(html.find("&lt;b&gt;resnet"), std::string::npos);
  EXPECT_NE(html.find("fitted GGD"), std::string::npos);
  // Nothing external: the only URL is the SVG namespace, which is not fetched.
  std::string rest = html;
  for (size_t p; (p = rest.find("http://www.w3.org/2000/svg")) != std::string::npos;)
    rest.erase(p, 26);
  EXPECT_EQ(rest.find("http"), std::string::npos);
  EXPECT_EQ(rest.find("<script"), std::string::npos);
  EXPECT_EQ(rest.find("src="), std::string::npos);
  // Every layer of the summary is a row of the table.
  for (const auto& l : summary["layers"])
    EXPECT_NE(html.find(">" + report::escape(l["name"].get<std::string>()) + "<"),
              std::string::npos);
}

TEST(Report, RefusesBadFoldersByName) {
  auto expect_error = [](const std::string& dir, ErrorKind kind, const std::string& names) {
    try {
      (void)report::load_report_inputs(dir);
      ADD_FAILURE() << "no error for " << dir;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), kind) << e.what();
      EXPECT_NE(std::string(e.what()).find(names), std::string::npos) << e.what();
    }
  };
  // One folder per case (temp_dir() is this test's folder).
  const std::string root = test::temp_dir();
  auto folder = [&](const std::string& name) {
    std::filesystem::create_directories(root + "/" + name);
    return root + "/" + name;
  };
  const std::string empty = folder("empty");
  expect_error(empty, ErrorKind::InvalidData, empty);
  expect_error(empty + "/missing", ErrorKind::Io, "missing");
  const std::string corrupt = folder("corrupt");
  write_file(corrupt, "summary.json", "{\"model\": \"x\", \"layers\": [");
  expect_error(corrupt, ErrorKind::InvalidData, "summary.json");
  const std::string fields = folder("fields");
  write_file(fields, "summary.json", "{\"model\": \"x\"}");
  expect_error(fields, ErrorKind::InvalidData, "\"layers\"");
  const std::string other = folder("other");
  write_file(other, "summary.json", "{\"model\": \"resnet\", \"layers\": []}");
  write_file(other, "sweep.json", "{\"model\": \"vgg\", \"bits\": [4], \"rows\": []}");
  expect_error(other, ErrorKind::InvalidData, "sweep.json");
  const std::string sha = folder("sha");
  write_file(sha, "summary.json", "{\"model\": \"m\", \"model_sha256\": \"aa\", \"layers\": []}");
  write_file(sha, "compare.json", "{\"model\": \"m\", \"model_sha256\": \"bb\", \"rows\": []}");
  expect_error(sha, ErrorKind::InvalidData, "compare.json");
}

// Valid JSON of the wrong shape draws a page or is refused by name; it never crashes.
TEST(Report, OddButValidInputsNeverCrash) {
  const std::string root = test::temp_dir() + "/odd";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"compare.json", R"({"model": "m", "rows": []})"},
      {"compare.json", R"({"model": "m", "rows": [1, "x", {"bits": "4", "plan": "../../etc"}]})"},
      {"sweep.json", R"({"model": "m", "bits": [], "rows": [{"scheme": 3, "top1": ["a"]}]})"},
      {"sweep.json", R"({"model": "m", "bits": [4, 8], "rows": [{"top1": [0.5]}]})"},
      {"summary.json",
       R"({"model": "m", "layers": [1, {"name": 2, "output": "x"}], "seconds": 3})"},
      {"summary.json",
       R"({"model": "m", "layers": [], "tuning": [{"trace": [{"frac_before": "a"}]}]})"},
      {"sensitivity.json", R"({"model": "m", "layers": [{"top1": null}], "suggestion": 5})"},
      {"profile.json", R"({"model": "m", "layers": [{"float_ms": -1}], "integer_ms": 2})"},
  };
  int drawn = 0, refused = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string dir = root + "/" + std::to_string(i);
    std::filesystem::create_directories(dir);
    write_file(dir, cases[i].first, cases[i].second);
    try {
      const std::string html = report::render_html(report::load_report_inputs(dir));
      EXPECT_NE(html.find("</html>"), std::string::npos);
      ++drawn;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::InvalidData) << e.what();
      ++refused;
    }
  }
  EXPECT_EQ(drawn + refused, static_cast<int>(cases.size()));
}

TEST(Svg, TicksEscapesAndNumbers) {
  auto expect_ticks = [](double lo, double hi, std::vector<double> want) {
    const std::vector<double> got = report::nice_ticks(lo, hi, 5);
    ASSERT_EQ(got.size(), want.size()) << lo << ".." << hi;
    for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-12);
  };
  expect_ticks(0, 1, {0, 0.2, 0.4, 0.6, 0.8, 1.0});
  expect_ticks(-3.7, 12.2, {0, 5, 10});
  expect_ticks(-0.013, 0.013, {-0.01, 0, 0.01});
  EXPECT_EQ(report::escape("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;");
  EXPECT_EQ(report::num(std::nan("")), "-");
  EXPECT_EQ(report::num(1234.5, 3), "1.23e+03");
  EXPECT_EQ(report::signed_bits_for(0), 1);
  EXPECT_EQ(report::signed_bits_for(1), 2);    // -1..1
  EXPECT_EQ(report::signed_bits_for(127), 8);  // int8
  EXPECT_EQ(report::signed_bits_for(128), 9);
}

}  // namespace
}  // namespace gammaq
