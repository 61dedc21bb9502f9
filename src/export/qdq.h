// QDQ ONNX export (gammaq export DIR --format qdq -o FILE.onnx): the quantized model as an ONNX
// graph that ONNX Runtime (or any QDQ-aware runtime) runs as written.
//
// The graph written is gammaq's own (after its passes: BatchNormalization folded into the
// convolution before it, activations fused into their producer), because the weights in
// quant.json are those of the folded layers. Every point of quantization of the simulation
// (engine/fake_quant.h) becomes ONNX operators with the same meaning:
//   - a quantized feature map v: QuantizeLinear -> DequantizeLinear, scale 2^-frac, zero
//     point 0, in the narrowest container that holds the format: int8/uint8 for <= 8 bits,
//     int16/uint16 (opset 21) for 9..16 bits. When the
//     format's range is narrower than its container's (6 bits in int8), a Clip to the format's
//     range precedes QuantizeLinear (clip then round equals round then saturate: both ends are
//     grid points); a fused ReLU or Clip merges into that Clip, or is left out where the
//     container's own saturation implies it (ReLU before uint8).
//   - weights: an initializer of their integer codes and a DequantizeLinear (per output channel
//     on axis 0 when the plan is per channel), so the dequantized weight is the simulation's;
//     int4 (opset 21) for <= 4 bits. Feature maps of <= 4 bits stay in int8/uint8 containers:
//     ONNX Runtime 1.30 fuses DequantizeLinear(uint4) into a QLinearConv it then rejects, moves
//     it past MaxPool into an int4 MaxPool it also rejects, and where it loads such a model
//     (AlexNet w4a4) its top-1 falls from 88.85 to 49.20 even with optimizations off.
//     unsigned_weights stores 8-bit weight codes as uint8 with zero point 128 (same values):
//     ONNX Runtime's u8s8 kernels on x86 without VNNI sum pairs of products in saturating
//     int16 (vpmaddubsw), its u8u8 kernels do not.
//   - biases at the accumulator's scale: int32 codes, DequantizeLinear with scale
//     2^-(weight frac + input frac) -- the form ONNX Runtime fuses into QLinearConv. A bias
//     whose code does not fit int32, or a layer whose input is float, gets its simulated value
//     as a float initializer (exact: accumulator biases have <= 24 significant bits).
// ONNX's QuantizeLinear rounds ties to even; a plan with another rounding rule is exported
// with a warning (ties may then round differently).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gammaq/graph.h"
#include "quant/plan.h"

namespace gammaq {

struct QdqOptions {
  int64_t opset = 13;  // 13 or 21; raised to 21 (with a warning) when a format needs int16
  bool unsigned_weights = false;
};

struct QdqReport {
  int64_t opset = 0;
  int quantized_values = 0;  // feature maps given a QuantizeLinear/DequantizeLinear pair
  int clipped_values = 0;    // of which narrower than their container (a Clip before Q)
  int float_biases = 0;      // biases written as float (see above)
  std::vector<std::string> warnings;
};

// The model bytes (a serialized ModelProto). Throws Error(InvalidData) when the plan does not
// fit the graph, Error(InvalidOption) for an opset other than 13 or 21.
[[nodiscard]] std::string qdq_model(const Graph& g, const quant::QuantPlan& plan,
                                    const QdqOptions& options, QdqReport* report = nullptr);

// qdq_model written to PATH through PATH.tmp.<pid> and a rename: a failure leaves no file.
// Error(InvalidOption) when PATH is a folder, Error(Io) naming PATH when it cannot be written.
QdqReport export_qdq(const Graph& g, const quant::QuantPlan& plan, const QdqOptions& options,
                     const std::string& path);

}  // namespace gammaq
