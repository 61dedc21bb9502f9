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

}  // namespace gammaq
