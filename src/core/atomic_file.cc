#include "core/atomic_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

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

namespace {

namespace fs = std::filesystem;

[[noreturn]] void bad_output(std::string_view option, const std::string& path,
                             std::string_view why) {
  throw Error(ErrorKind::InvalidOption, str_cat(option, " ", path, ": ", why));
}

// Tries to write in the existing folder DIR: a probe file is created and removed at once.
void probe_folder(const fs::path& dir, std::string_view option, const std::string& path) {
  std::string probe = (dir / ".gammaq-probe-XXXXXX").string();
  const int fd = ::mkstemp(probe.data());
  if (fd < 0)
    bad_output(option, path, str_cat("cannot write in ", dir.string(), ": ", std::strerror(errno)));
  ::close(fd);
  ::unlink(probe.c_str());
}

// `shown`: the path the user gave (the file, when checking a file's folder).
void check_output_folder(const std::string& path, std::string_view option,
                         const std::string& shown) {
  std::error_code ec;
  const fs::path p = path.empty() ? fs::path(".") : fs::path(path);
  const fs::file_status st = fs::status(p, ec);
  if (fs::exists(st)) {
    if (!fs::is_directory(st)) bad_output(option, shown, "exists and is not a folder");
    probe_folder(p, option, shown);
    return;
  }
  // The nearest existing ancestor, and the first level below it that is missing.
  fs::path missing = p.lexically_normal();
  if (missing.filename().empty()) missing = missing.parent_path();
  fs::path parent = missing.parent_path();
  while (!parent.empty() && !fs::exists(fs::status(parent, ec))) {
    missing = parent;
    parent = parent.parent_path();
  }
  const fs::path base = parent.empty() ? fs::path(".") : parent;
  if (!fs::is_directory(fs::status(base, ec)))
    bad_output(option, shown, str_cat(base.string(), " is not a folder"));
  if (::mkdir(missing.c_str(), 0777) != 0)
    bad_output(option, shown,
               str_cat("cannot create ", missing.string(), ": ", std::strerror(errno)));
  ::rmdir(missing.c_str());
}

}  // namespace

void check_output_path(const std::string& path, OutputKind kind, std::string_view option) {
  if (kind == OutputKind::Folder) {
    check_output_folder(path, option, path);
    return;
  }
  if (path.empty()) bad_output(option, path, "empty file name");
  std::error_code ec;
  const fs::path p(path);
  if (fs::is_directory(fs::status(p, ec))) bad_output(option, path, "is a folder, not a file");
  // A file's folder must exist: files are written where the user says, folders are not made.
  const fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  const fs::file_status st = fs::status(dir, ec);
  if (!fs::exists(st)) bad_output(option, path, str_cat("no folder ", dir.string()));
  if (!fs::is_directory(st)) bad_output(option, path, str_cat(dir.string(), " is not a folder"));
  probe_folder(dir, option, path);
}

void make_output_folder(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) throw Error(ErrorKind::Io, str_cat(path, ": cannot create the folder: ", ec.message()));
}

}  // namespace gammaq
