// OnnxBuilder: builds small ONNX models in test code (like onnx.helper), so tests need no
// committed model blobs.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "gammaq/tensor.h"

namespace gammaq::test {

class OnnxBuilder {
 public:
  explicit OnnxBuilder(int64_t opset = 13);
  // The image input [N, c, h, w] with a symbolic batch dimension (and a symbolic one for each
  // negative entry of chw).
  OnnxBuilder& input(const std::string& name, std::vector<int64_t> chw);
  OnnxBuilder& output(const std::string& name);
  OnnxBuilder& initializer(const std::string& name, const Shape& shape,
                           const std::vector<float>& values);
  OnnxBuilder& initializer_i64(const std::string& name, const std::vector<int64_t>& values);
  // Adds a node; attributes are added on the returned proto with the helpers below.
  onnx::NodeProto& node(const std::string& op, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs, const std::string& name = "");
  OnnxBuilder& metadata(const std::string& key, const std::string& value);
  [[nodiscard]] std::string bytes() const;
  // Writes to a fresh file under the test temp dir and returns its path.
  [[nodiscard]] std::string write(const std::string& file_name) const;
  onnx::ModelProto& model() { return model_; }

 private:
  onnx::ModelProto model_;
};

void attr_int(onnx::NodeProto& n, const std::string& name, int64_t v);
void attr_float(onnx::NodeProto& n, const std::string& name, float v);
void attr_ints(onnx::NodeProto& n, const std::string& name, const std::vector<int64_t>& v);
void attr_string(onnx::NodeProto& n, const std::string& name, const std::string& v);

// Deterministic pseudo-random values in [lo, hi) (seeded; for weights and inputs).
[[nodiscard]] std::vector<float> random_values(size_t n, uint32_t seed, float lo = -1.0f,
                                               float hi = 1.0f);

// Temp dir for a test (created, unique per process).
[[nodiscard]] std::string temp_dir();

}  // namespace gammaq::test
