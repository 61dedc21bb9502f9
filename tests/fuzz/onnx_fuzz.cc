// libFuzzer harness for the ONNX importer, the graph passes and the reference kernels.
// gammaq::Error is an accepted outcome, if its message is one printable line (names read from
// the file are untrusted); any other exception, crash or sanitizer report is a finding. A
// graph that imports and is small runs one image through the reference kernels (every
// operator's shape rule and kernel against what the importer accepted).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "gammaq/error.h"
#include "gammaq/executor.h"
#include "ir/passes.h"
#include "onnx/import.h"

namespace {

void check_printable(const char* what) {
  for (const char* p = what; *p; ++p)
    if (static_cast<unsigned char>(*p) < 0x20 || *p == 0x7f) std::abort();  // a finding
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    gammaq::Graph g =
        gammaq::import_onnx_bytes(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
    (void)gammaq::optimize(g);
    int64_t values = 0;
    for (const gammaq::Value& v : g.values) values += gammaq::shape_numel(v.shape);
    if (values > (int64_t{1} << 16)) return 0;  // keep each input fast
    gammaq::ExecutorOptions o;
    o.impl = gammaq::KernelImpl::Reference;
    o.threads = 1;
    gammaq::Executor e(g, o);
    gammaq::Shape s = g.values[static_cast<size_t>(g.input)].shape;
    gammaq::Tensor x(s);
    for (size_t i = 0; i < x.data.size(); ++i) x.data[i] = static_cast<float>(i % 7) - 3.0f;
    (void)e.run(x);
  } catch (const gammaq::Error& e) {
    check_printable(e.what());
  }
  return 0;
}
