#include "support/npy.h"

#include <cstring>
#include <fstream>
#include <iterator>

namespace gammaq::test {

Tensor read_npy_f32(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return {};
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) return {};
  const size_t hlen =
      static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
  const std::string header = bytes.substr(10, hlen);
  if (header.find("'<f4'") == std::string::npos || header.find("True") != std::string::npos)
    return {};
  // 'shape': (a, b, ...): the digits between the parentheses.
  const size_t open = header.find('('), close = header.find(')', open);
  if (open == std::string::npos || close == std::string::npos) return {};
  Shape shape;
  int64_t dim = -1;
  for (size_t i = open + 1; i <= close; ++i) {
    const char c = header[i];
    if (c >= '0' && c <= '9') {
      dim = (dim < 0 ? 0 : dim * 10) + (c - '0');
    } else if (dim >= 0) {
      shape.push_back(dim);
      dim = -1;
    }
  }
  Tensor t(shape);
  if (bytes.size() < 10 + hlen + t.data.size() * 4) return {};
  std::memcpy(t.data.data(), bytes.data() + 10 + hlen, t.data.size() * 4);
  return t;
}

}  // namespace gammaq::test
