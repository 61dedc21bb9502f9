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

namespace {
bool write_npy(const std::string& path, const char* descr, const std::vector<int64_t>& shape,
               const void* data, size_t bytes) {
  std::string dims;
  for (int64_t d : shape) dims += std::to_string(d) + ", ";
  if (shape.size() > 1) dims.resize(dims.size() - 2);
  std::string header =
      std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (" + dims + "), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::ofstream f(path, std::ios::binary);
  const char magic[] = {'\x93', 'N', 'U', 'M', 'P', 'Y', 1, 0};
  f.write(magic, sizeof magic);
  const uint16_t len = static_cast<uint16_t>(header.size());
  const char len_le[] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
  f.write(len_le, 2);
  f << header;
  f.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
  return static_cast<bool>(f);
}
}  // namespace

bool write_npy_f32(const std::string& path, const Tensor& t) {
  return write_npy(path, "<f4", t.shape, t.data.data(), t.data.size() * sizeof(float));
}

bool write_npy_i64(const std::string& path, const std::vector<int64_t>& v) {
  return write_npy(path, "<i8", {static_cast<int64_t>(v.size())}, v.data(),
                   v.size() * sizeof(int64_t));
}

}  // namespace gammaq::test
