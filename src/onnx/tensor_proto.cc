#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "onnx/import_context.h"

namespace gammaq::onnx_import {
namespace {

constexpr int64_t kMaxElements = int64_t{1} << 31;  // 8 GiB of floats: far above any CNN layer

// Converts to float; values beyond float's range become +-inf (rejected by the caller).
template <typename T>
float to_float(T v) {
  if constexpr (std::is_same_v<T, double>) {
    if (std::isfinite(v) && std::fabs(v) > std::numeric_limits<float>::max())
      return v > 0 ? std::numeric_limits<float>::infinity()
                   : -std::numeric_limits<float>::infinity();
  }
  if constexpr (std::is_same_v<T, uint8_t>) return v != 0 ? 1.0f : 0.0f;
  return static_cast<float>(v);
}

// Sizes are checked against the declared shape before anything is allocated.
template <typename T>
std::vector<float> read_values(const onnx::TensorProto& t, int64_t n,
                               const google::protobuf::RepeatedField<T>* typed) {
  if (t.has_raw_data()) {
    const std::string& raw = t.raw_data();
    if (raw.size() != static_cast<size_t>(n) * sizeof(T))
      throw Error(ErrorKind::InvalidModel,
                  str_cat("raw_data holds ", raw.size(), " bytes; shape needs ",
                          n * static_cast<int64_t>(sizeof(T))));
    std::vector<float> out(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      T v;
      std::memcpy(&v, raw.data() + i * sizeof(T), sizeof(T));  // ONNX raw data is little-endian
      out[static_cast<size_t>(i)] = to_float(v);
    }
    return out;
  }
  if (typed == nullptr || typed->size() != n)
    throw Error(ErrorKind::InvalidModel,
                str_cat("holds ", typed ? typed->size() : 0, " values; shape needs ", n));
  std::vector<float> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out[static_cast<size_t>(i)] = to_float((*typed)[i]);
  return out;
}

}  // namespace

Tensor tensor_from_proto(const onnx::TensorProto& t, bool keep_nonfinite) {
  if (t.data_location() == onnx::TensorProto::EXTERNAL)
    throw Error(ErrorKind::UnsupportedOp, "external tensor data is not supported");
  Shape shape;
  int64_t n = 1;
  for (int64_t d : t.dims()) {
    if (d < 0) throw Error(ErrorKind::InvalidModel, str_cat("negative dimension ", d));
    if (d > 0 && n > kMaxElements / d)
      throw Error(ErrorKind::InvalidModel, "shape has more than 2^31 elements");
    n *= d;
    shape.push_back(d);
  }
  std::vector<float> data;
  switch (t.data_type()) {
    case onnx::TensorProto::FLOAT: data = read_values<float>(t, n, &t.float_data()); break;
    case onnx::TensorProto::DOUBLE: data = read_values<double>(t, n, &t.double_data()); break;
    case onnx::TensorProto::INT64: data = read_values<int64_t>(t, n, &t.int64_data()); break;
    case onnx::TensorProto::INT32: data = read_values<int32_t>(t, n, &t.int32_data()); break;
    case onnx::TensorProto::BOOL:
      data = t.has_raw_data() ? read_values<uint8_t>(t, n, nullptr)
                              : read_values<int32_t>(t, n, &t.int32_data());
      break;
    default:
      throw Error(ErrorKind::UnsupportedOp,
                  str_cat("tensor data type ", t.data_type(), " is not supported"));
  }
  if (!keep_nonfinite) {
    for (size_t i = 0; i < data.size(); ++i) {
      const float v = data[i];
      if (!std::isfinite(v))
        throw Error(ErrorKind::InvalidModel,
                    str_cat("holds ", std::isnan(v) ? "NaN" : "Inf", " at index ", i));
    }
  }
  return Tensor(std::move(shape), std::move(data));
}

}  // namespace gammaq::onnx_import
