#include "support/npy.h"

#include <cstring>
#include <fstream>
#include <iterator>
#include <regex>

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
  std::smatch m;
  if (!std::regex_search(header, m, std::regex("\\(([0-9, ]*)\\)"))) return {};
  Shape shape;
  const std::string dims = m[1];
  const std::regex number("[0-9]+");
  for (std::sregex_iterator it(dims.begin(), dims.end(), number), end; it != end; ++it)
    shape.push_back(std::stoll(it->str()));
  Tensor t(shape);
  if (bytes.size() < 10 + hlen + t.data.size() * 4) return {};
  std::memcpy(t.data.data(), bytes.data() + 10 + hlen, t.data.size() * 4);
  return t;
}

}  // namespace gammaq::test
