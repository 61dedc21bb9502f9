// QuantPlan: every tensor's fixed-point format for one model -- the content of quant.json.
#pragma once

#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "quant/format.h"
#include "quant/nuuq.h"

namespace gammaq::quant {

// Format of one feature map (an activation value of the graph), and how it was chosen.
struct ActivationFormat {
  Format format;
  std::string method;       // "ggd", "ristretto", "override", "float-input", ...
  bool degenerate = false;  // all zeros / too few samples: the documented fallback was used
  std::string note;         // why, for degenerate or fallback choices
  // Fitted GGD of the positive (and, two-sided, negative) magnitudes; empty when not fitted.
  std::map<std::string, double> fit;
  std::vector<std::pair<int, double>> candidates;  // (frac, squared error or model MSE)
  // Local SQNR of this quantizer on the calibration data (6.1); NaN: not measured.
  double sqnr_db = std::numeric_limits<double>::quiet_NaN();
};

// Formats of one layer's parameters (Conv, Gemm).
struct LayerFormat {
  Format weight;                         // per-layer format (also holds bits for per-channel)
  std::vector<int> weight_channel_frac;  // per-output-channel fracs; empty: per layer
  // NUUQ (ALGORITHMS.md 8): the weights take these levels of their grid -- one codebook for
  // the layer, or one per output channel; empty: every code of the grid (uniform).
  std::vector<Codebook> weight_codebooks;
  bool bias_at_accumulator = true;  // bias added at the accumulator scale (frac_w + frac_in)
  // Bias correction (--bias-correction): per output channel, added to the model's bias before
  // it is quantized -- minus the mean shift the weights' quantization causes in the layer's
  // output on the calibration data. Empty: none.
  std::vector<double> bias_correction;
  Format bias;  // used when !bias_at_accumulator
  double weight_sqnr_db = std::numeric_limits<double>::quiet_NaN();
  double bias_sqnr_db = std::numeric_limits<double>::quiet_NaN();
};

// Weight w of output channel m as its integer code under channel format f: rounded to the
// grid, then through the layer's codebook when it has one (NUUQ's table decode).
[[nodiscard]] int64_t weight_code(float w, const Format& f, const LayerFormat& l, int64_t m,
                                  Rounding rounding) noexcept;

struct QuantPlan {
  std::string model;         // graph name
  std::string model_sha256;  // fingerprint of the ONNX file (FNV-1a 64, hex): never apply a plan to
                             // another model
  Rounding rounding = Rounding::HalfEven;
  int wbits = 8, abits = 8;
  std::string bbits = "acc";  // "acc" or a number
  std::string method, mode, granularity = "layer";
  bool float_activations = false;  // WQ / Ristretto (float FM): feature maps stay float
  // The network the feature-map statistics came from: "quantized" weights (quantize's
  // default) or "float" weights (compare's shared pass, quantize --calib-weights float).
  std::string calib_weights = "quantized";
  // How the model was imported (--input-shape, --outputs): a plan applies to that graph, so
  // commands reading this quant.json import the model the same way.
  std::vector<int64_t> input_shape;
  std::vector<std::string> outputs;
  std::map<std::string, ActivationFormat> activations;  // by value name
  std::map<std::string, LayerFormat> layers;            // by node name
};

// JSON (versioned: "gammaq_quant": 1). from_json throws Error(InvalidData) naming the field.
[[nodiscard]] std::string plan_to_json(const QuantPlan& plan);
[[nodiscard]] QuantPlan plan_from_json(const std::string& text, const std::string& where);

}  // namespace gammaq::quant
