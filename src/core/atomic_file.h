// AtomicFile: every output file is written to a temporary beside it and renamed on commit(),
// so a failure never leaves a half-written file (STYLE.md §3.3).
#pragma once

#include <cstdio>
#include <span>
#include <string>
#include <string_view>

#include "gammaq/tensor.h"

namespace gammaq {

class AtomicFile {
 public:
  // Opens PATH.tmp.<pid> for writing; Error(Io) naming PATH on failure.
  explicit AtomicFile(std::string path);
  ~AtomicFile();  // removes the temporary unless committed
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(std::string_view bytes);
  // Flushes, closes and renames onto PATH; Error(Io) on failure (the temporary is removed).
  void commit();
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  std::string path_, tmp_;
  std::FILE* f_ = nullptr;
  bool committed_ = false;
};

// Writes a float32 NPY (format 1.0, little-endian, C order) atomically.
void write_npy_f32(const std::string& path, const Shape& shape, std::span<const float> data);
// Writes text atomically.
void write_text_file(const std::string& path, std::string_view text);

// Output paths are input (STYLE.md §3): a command checks every output path before its work,
// so a bad one costs one line and writes nothing. Folder: an existing folder it can write in,
// or one it can create (the nearest existing ancestor is a folder, and creating the first
// missing level is tried and undone). File: not an existing folder, in an existing folder it
// can write in. Error(InvalidOption) naming `option` and the path, with the reason, otherwise.
enum class OutputKind { Folder, File };
void check_output_path(const std::string& path, OutputKind kind, std::string_view option);
// std::filesystem::create_directories, its failure an Error(Io) naming the folder.
void make_output_folder(const std::string& path);

}  // namespace gammaq
