// Minimal float32 NPY reader for test oracles (golden logits written by numpy or ORT scripts).
#pragma once

#include <string>
#include <vector>

#include "gammaq/tensor.h"

namespace gammaq::test {

// Reads a little-endian float32 C-order NPY; returns an empty tensor when unreadable.
Tensor read_npy_f32(const std::string& path);
// Writes t as a float32 C-order NPY (for inputs handed to ORT scripts); false on I/O failure.
bool write_npy_f32(const std::string& path, const Tensor& t);
// Writes labels as a 1-D int64 NPY.
bool write_npy_i64(const std::string& path, const std::vector<int64_t>& v);

}  // namespace gammaq::test
