// libFuzzer harness for the dataset readers (STYLE.md §3.3 fuzz rule): the input bytes are
// written to a temporary file that is opened as IDX images ("idx:PATH") and as NPY
// ("npy:PATH"), and every image is read in batches. gammaq::Error is an accepted outcome;
// anything else -- a crash, another exception, a sanitizer report -- is a finding.
//
//   clang++-14 -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -I include -I src \
//     tests/fuzz/data_fuzz.cc src/data/*.cc src/core/*.cc -lz -lstb -o /tmp/data_fuzz
//   /tmp/data_fuzz -max_total_time=60 tests/fuzz/corpus/data
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "gammaq/dataset.h"
#include "gammaq/error.h"

namespace {

// One temporary file name per process; the file is written for each input and removed after
// it (libFuzzer leaves with _Exit, so atexit cleanup would not run).
const std::string& temp_path() {
  static const std::string path = [] {
    const char* dir = std::getenv("TMPDIR");
    std::string tmpl = std::string(dir != nullptr ? dir : "/tmp") + "/gammaq_data_fuzz_XXXXXX";
    const int fd = ::mkstemp(tmpl.data());
    if (fd < 0) std::abort();
    ::close(fd);
    return tmpl;
  }();
  return path;
}

void read_everything(const std::string& spec) {
  try {
    gammaq::Preprocess pre;
    auto ds = gammaq::open_dataset(spec, pre);
    const gammaq::Shape shape = ds->image_shape();
    for (int64_t begin = 0; begin < ds->size(); begin += 16) {
      const int64_t count = std::min<int64_t>(16, ds->size() - begin);
      const gammaq::Batch b = ds->read(begin, count);
      if (b.images.shape != gammaq::Shape{count, shape[0], shape[1], shape[2]}) std::abort();
      if (b.images.numel() != count * shape[0] * shape[1] * shape[2]) std::abort();
      if (ds->has_labels() != (static_cast<int64_t>(b.labels.size()) == count)) std::abort();
    }
  } catch (const gammaq::Error&) {
    // Bad input, reported as such: the accepted outcome.
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = temp_path();
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  read_everything("idx:" + path);
  read_everything("npy:" + path);
  read_everything("idx:" + path + "," + path);  // the same bytes as labels too
  std::remove(path.c_str());
  return 0;
}
