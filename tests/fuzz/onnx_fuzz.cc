// libFuzzer harness for the ONNX importer and graph passes. gammaq::Error is an accepted
// outcome; any other exception, crash or sanitizer report is a finding.
#include <cstddef>
#include <cstdint>
#include <string>

#include "gammaq/error.h"
#include "ir/passes.h"
#include "onnx/import.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    gammaq::Graph g =
        gammaq::import_onnx_bytes(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
    (void)gammaq::optimize(g);
  } catch (const gammaq::Error&) {
  }
  return 0;
}
