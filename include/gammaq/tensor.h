// Tensor: a dense float32 array in row-major (C) order with a shape.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace gammaq {

using Shape = std::vector<int64_t>;

// Product of the dimensions (1 for a scalar). Dimensions must be non-negative.
[[nodiscard]] int64_t shape_numel(const Shape& shape) noexcept;
// "1x28x28" -- for messages.
[[nodiscard]] std::string shape_str(const Shape& shape);

struct Tensor {
  Shape shape;
  std::vector<float> data;  // shape_numel(shape) values

  Tensor() = default;
  // shape_numel(s) values, all `fill`.
  explicit Tensor(Shape s, float fill = 0.0f)
      : shape(std::move(s)), data(static_cast<size_t>(shape_numel(shape)), fill) {}
  // `values` must hold shape_numel(s) values in row-major order.
  Tensor(Shape s, std::vector<float> values) : shape(std::move(s)), data(std::move(values)) {}

  [[nodiscard]] int64_t numel() const noexcept { return static_cast<int64_t>(data.size()); }
  [[nodiscard]] int64_t dim(size_t i) const noexcept { return shape[i]; }
  [[nodiscard]] size_t rank() const noexcept { return shape.size(); }
  [[nodiscard]] std::span<const float> span() const noexcept { return data; }
  [[nodiscard]] std::span<float> span() noexcept { return data; }
};

}  // namespace gammaq
