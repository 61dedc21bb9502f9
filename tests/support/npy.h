// Minimal float32 NPY reader for test oracles (golden logits written by numpy or ORT scripts).
#pragma once

#include <string>
#include <vector>

#include "gammaq/tensor.h"

namespace gammaq::test {

// Reads a little-endian float32 C-order NPY; returns an empty tensor when unreadable.
Tensor read_npy_f32(const std::string& path);

}  // namespace gammaq::test
