// FakeQuant: a fixed-point simulation resolved against one graph (see engine/fake_quant.h for
// how a QuantPlan becomes one). Shared by the reference executor and the fast path.
#pragma once

#include <optional>
#include <vector>

#include "gammaq/tensor.h"
#include "quant/format.h"

namespace gammaq {

struct FakeQuant {
  quant::Rounding rounding = quant::Rounding::HalfEven;
  // Per value id: the format an activation is rounded to after it is produced (nullopt: float).
  std::vector<std::optional<quant::Format>> value_format;
  // Per value id: the quantized replacement of a constant (weights, biases); empty: unchanged.
  std::vector<Tensor> constant;
};

}  // namespace gammaq
