// libFuzzer harness for report.html's renderer (STYLE.md §3.3 fuzz rule): the input bytes are
// parsed as JSON and handed to the page as each of the files a folder can hold (summary,
// quant.json, diagnostics, sweep, compare, sensitivity, profile), alone and beside a minimal
// summary. check_report_inputs then render_html: gammaq::Error is an accepted outcome; anything
// else -- a crash, another exception, a sanitizer report -- is a finding.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "gammaq/error.h"
#include "report/html.h"

namespace {

using gammaq::report::Json;
using gammaq::report::ReportInputs;

void draw(const ReportInputs& in) {
  try {
    gammaq::report::check_report_inputs(in);
    const std::string html = gammaq::report::render_html(in);
    if (html.find("</html>") == std::string::npos) std::abort();
  } catch (const gammaq::Error&) {
    // Bad input, reported as such: the accepted outcome.
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Json j = Json::parse(data, data + size, nullptr, false);
  if (j.is_discarded()) return 0;
  const Json summary = {{"model", "m"}, {"layers", Json::array()}};
  for (int part = 0; part < 7; ++part) {
    for (bool with_summary : {false, true}) {
      ReportInputs in;
      in.dir = "fuzz";
      if (with_summary && part != 0) in.summary = summary;
      switch (part) {
        case 0: in.summary = j; break;
        case 1: in.plan = j; break;
        case 2: in.diagnostics = j; break;
        case 3: in.sweep = j; break;
        case 4:
          in.compare = j;
          if (j.is_object() && j.contains("rows") && j["rows"].is_array())
            for (size_t r = 0; r < j["rows"].size(); ++r) in.compare_plans.push_back(j);
          break;
        case 5: in.sensitivity = j; break;
        default: in.profile = j; break;
      }
      draw(in);
    }
  }
  return 0;
}
