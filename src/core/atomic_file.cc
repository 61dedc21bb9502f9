#include "core/atomic_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "gammaq/error.h"

namespace gammaq {

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  tmp_ = str_cat(path_, ".tmp.", ::getpid());
  f_ = std::fopen(tmp_.c_str(), "wb");
  if (f_ == nullptr)
    throw Error(ErrorKind::Io, str_cat(path_, ": cannot create: ", std::strerror(errno)));
}

AtomicFile::~AtomicFile() {
  if (f_ != nullptr) std::fclose(f_);
  if (!committed_) std::remove(tmp_.c_str());
}

void AtomicFile::write(std::string_view bytes) {
  if (std::fwrite(bytes.data(), 1, bytes.size(), f_) != bytes.size())
    throw Error(ErrorKind::Io, str_cat(path_, ": write failed: ", std::strerror(errno)));
}

void AtomicFile::commit() {
  const bool ok = std::fflush(f_) == 0 && std::fclose(f_) == 0;
  f_ = nullptr;
  if (!ok || std::rename(tmp_.c_str(), path_.c_str()) != 0)
    throw Error(ErrorKind::Io, str_cat(path_, ": cannot write: ", std::strerror(errno)));
  committed_ = true;
}

void write_npy_f32(const std::string& path, const Shape& shape, std::span<const float> data) {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < shape.size(); ++i)
    dict += str_cat(shape[i], shape.size() == 1 ? "," : (i + 1 < shape.size() ? ", " : ""));
  dict += "), }";
  // Header padded with spaces so that magic + len + header is a multiple of 64, ending in \n.
  const size_t unpadded = 10 + dict.size() + 1;
  dict.append((64 - unpadded % 64) % 64, ' ');
  dict += '\n';
  std::string head = "\x93NUMPY\x01";
  head += '\0';
  head += static_cast<char>(dict.size() & 0xff);
  head += static_cast<char>(dict.size() >> 8);
  AtomicFile f(path);
  f.write(head);
  f.write(dict);
  f.write(std::string_view(reinterpret_cast<const char*>(data.data()), data.size_bytes()));
  f.commit();
}

void write_text_file(const std::string& path, std::string_view text) {
  AtomicFile f(path);
  f.write(text);
  f.commit();
}

}  // namespace gammaq
