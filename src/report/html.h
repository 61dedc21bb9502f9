// report.html: one self-contained page (inline CSS and SVG, no script, no external resource)
// drawn from the JSON files a gammaq command leaves in its folder (DESIGN.md "src/report/").
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace gammaq::report {

using Json = nlohmann::ordered_json;

// What one folder holds; every part is optional, but a report needs at least one of
// summary (quantize), sweep, compare, sensitivity or profile.
struct ReportInputs {
  std::string dir;
  std::optional<Json> summary;      // summary.json (quantize)
  std::optional<Json> plan;         // quant.json (quantize): fitted densities, thresholds
  std::optional<Json> diagnostics;  // diagnostics.json (quantize --report, report --data)
  std::optional<Json> sweep;        // sweep.json
  std::optional<Json> compare;      // compare.json
  std::vector<Json> compare_plans;  // plans/*.json, in compare.json's row order
  std::optional<Json> sensitivity;  // sensitivity.json
  std::optional<Json> profile;      // profile.json
  std::vector<std::string> files;   // the files read, for the page's footer
};

// Reads DIR's files. Throws Error(InvalidData) naming the file when one is corrupt or not
// what its name says, when the files disagree on the model (a sweep of another model), or
// when DIR holds none of them; Error(Io) when DIR cannot be read.
[[nodiscard]] ReportInputs load_report_inputs(const std::string& dir);

// The checks load_report_inputs makes once the files are read: the fields the page relies on
// (named with their file when missing or of the wrong type), at least one part a report can
// be drawn from, and one model throughout. For inputs built in memory (the fuzz harness).
void check_report_inputs(const ReportInputs& in);

// The page, from inputs that passed check_report_inputs. Deterministic: the same inputs give
// the same bytes. Throws Error(InvalidData) when a field has an unexpected type.
[[nodiscard]] std::string render_html(const ReportInputs& in);

}  // namespace gammaq::report
