// The library facade: load a float ONNX model, calibrate and quantize it, evaluate it float, as
// the fixed-point simulation or on the bit-exact integer engine, save or load its formats
// (quant.json) and export it -- the sequence `gammaq quantize`, `eval`, `run` and `export`
// run, as two value types. Nothing here exposes gammaq's internal headers (src/).
//
//   gammaq::Model model = gammaq::Model::load("lenet.onnx");
//   auto calib = model.open_data("fashion-mnist:train[0:1000]");
//   gammaq::QuantizedModel q = model.quantize(*calib, {.wbits = 8, .abits = 8});
//   auto test = model.open_data("fashion-mnist:test");
//   gammaq::Accuracy a = q.evaluate_integer(*test);
//   q.export_to(gammaq::ExportFormat::C, "out/c");
//
// Errors: every function that reads a file, a dataset or an option throws gammaq::Error
// (gammaq/error.h) naming the file, tensor or option at fault; a bug inside gammaq throws
// gammaq::InternalError. Model and QuantizedModel are immutable once made: their const members
// share no mutable state (each call makes its own executor). A Dataset is read by one call at
// a time. Kernels run on OpenMP threads: RunOptions::threads sets the calling thread's count.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gammaq/dataset.h"
#include "gammaq/evaluate.h"
#include "gammaq/executor.h"
#include "gammaq/graph.h"
#include "gammaq/tensor.h"

namespace gammaq {

class QuantizedModel;

// How inference runs: Model::evaluate/infer and QuantizedModel::evaluate*/infer*.
struct RunOptions {
  int64_t batch = 64;  // evaluate: images per batch, >= 1 (infer runs its images as one)
  int64_t limit = -1;  // evaluate: the first `limit` images of the dataset (< 0: all)
  int threads = 0;     // OpenMP threads for the kernels; 0: keep the current setting
  // Fast: oneDNN float kernels (the simulation can then differ from the exact one by one step
  // where a value lies within float rounding of a rounding boundary); Reference: plain loops
  // accumulating in double, exact. The integer engine gives the same integers with both.
  KernelImpl kernels = KernelImpl::Fast;
};

// Weights: one format per layer, or one fractional length per output channel.
enum class Granularity { Layer, Channel };

// Backward-forward tuning on a validation set (CLI --tune none|w|a|wa).
enum class Tuning {
  None,
  Weights,      // "w": W-BFT, weights tuned with float feature maps (WQ+)
  Activations,  // "a": FM-BFT, feature maps tuned after they are chosen (FQ+)
  Both,         // "wa": both (WQ+_FQ+)
};

// What Model::quantize chooses, and from what. Every other choice takes the CLI's default
// (`gammaq quantize --help`): Algorithm 1 for weights, half-even rounding, biases at the
// accumulator's precision, feature-map statistics from the network with quantized weights.
struct QuantizeConfig {
  // Feature-map method: a name of quantize_methods() ("ggd", "ristretto", "minmax", "kl", ...).
  std::string method = "ggd";
  int wbits = 8;  // weight bits, 2..16
  int abits = 8;  // feature-map bits, 2..16
  Granularity granularity = Granularity::Layer;
  int64_t limit = -1;  // calibration images: the first `limit` of the dataset (< 0: all)
  Tuning tune = Tuning::None;
  // Labelled tuning images (required unless tune is None; must not be the images the result
  // is scored on). Read during quantize() only.
  Dataset* val = nullptr;
  int64_t val_limit = -1;  // tuning images: the first `val_limit` of `val` (< 0: all)
  int64_t batch = 64;      // images per batch, >= 1
  int threads = 0;         // OpenMP threads; 0: the process default
  bool quiet = true;       // false: progress lines on stderr, as the CLI prints them
};

// The feature-map method names Model::quantize accepts, in the CLI's order.
[[nodiscard]] std::vector<std::string> quantize_methods();

// A float model: the ONNX file imported and simplified by the same graph passes the CLI runs
// (Identity/Dropout removed, BatchNormalization folded into its Conv, activations fused).
// A cheap-to-copy handle to an immutable graph.
class Model {
 public:
  // Imports the ONNX model at `path` (opsets 7-21) and runs the graph passes. Throws
  // Error(Io) when the file cannot be read, Error(InvalidModel) for a malformed model,
  // Error(UnsupportedOp) naming node, op type and opset; messages start with `path`.
  // `options` fix the input's symbolic dimensions and cut the model at named tensors
  // (ImportOptions; quant.json records them, and QuantizedModel::load requires the same).
  [[nodiscard]] static Model load(const std::string& path, const ImportOptions& options = {});

  [[nodiscard]] const std::string& path() const noexcept;
  // The graph name (the model file's stem or the ONNX graph name).
  [[nodiscard]] const std::string& name() const noexcept;
  // The input image shape {C, H, W} (the graph input without its batch dimension).
  [[nodiscard]] Shape input_shape() const;
  // The imported graph (after the passes), for inspection.
  [[nodiscard]] const Graph& graph() const noexcept;
  // Preprocessing for raw images: the model's ONNX metadata "gammaq.preprocess" when present,
  // else scale 1/255, mean 0, std 1, channels and size from the input shape (the CLI's rule
  // without its flags). Throws Error(InvalidModel) when the metadata is malformed.
  [[nodiscard]] Preprocess preprocess() const;

  // Opens a dataset SPEC (gammaq/dataset.h) with preprocess() and checks it fits the model:
  // at least one image, images of input_shape(). Throws Error(InvalidOption|InvalidData|Io)
  // naming the spec. Labels are checked where they are needed (evaluate, tuning).
  [[nodiscard]] std::unique_ptr<Dataset> open_data(std::string_view spec) const;

  // Top-1/top-5 of the float model on the labelled `data`. Throws Error(InvalidData) when the
  // data has no labels or its images do not fit the model, Error(InvalidOption) for a batch < 1.
  [[nodiscard]] Accuracy evaluate(Dataset& data, const RunOptions& options = {}) const;
  // The float model's outputs for `images` [N, C, H, W] (preprocessed): [N, classes].
  // Throws Error(InvalidData) when the images do not fit the model.
  [[nodiscard]] Tensor infer(const Tensor& images, const RunOptions& options = {}) const;

  // Chooses every tensor's fixed-point format from the first config.limit images of `calib`
  // (labels not needed). Throws Error(InvalidOption) for a bad config (bits outside 2..16,
  // an unknown method, tuning without config.val), Error(InvalidData) for an empty or
  // ill-fitting dataset, Error(Numerical) naming the tensor for NaN/Inf statistics.
  [[nodiscard]] QuantizedModel quantize(Dataset& calib, const QuantizeConfig& config = {}) const;

 private:
  struct Impl;
  explicit Model(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
  friend class QuantizedModel;
};

// The fixed-point format of one tensor of a QuantizedModel: a value v is stored as the code
// q = clamp(round(v * 2^frac)) of `bits` bits and means q * 2^-frac.
struct TensorFormat {
  enum class Role {
    Activation,  // a feature map (the model input included); `name` is the tensor's name
    Weight,      // a Conv/Gemm weight; `name` is the layer's (node's) name
    Bias,        // a Conv/Gemm bias; `name` is the layer's name
  };
  std::string name;
  Role role = Role::Activation;
  int bits = 0;
  int frac = 0;  // fractional length: the step is 2^-frac (may be negative)
  bool is_signed = true;
  // Weights per channel: one frac per output channel (`frac` is then the layer's); else empty.
  std::vector<int> channel_frac;
  // Biases added at the accumulator's scale (the default): 32-bit codes whose frac is the
  // weight frac plus the input frac, per channel; `bits` is 32 and `frac` is not meaningful.
  bool at_accumulator = false;
  // Activations: how the format was chosen ("ggd", "ristretto", "override", ...); empty for
  // weights and biases.
  std::string method;
  // Signal-to-quantization-noise ratio of this tensor on the calibration data, in dB; NaN
  // where it was not measured (+inf: exact).
  double sqnr_db = 0;
};

// Export targets (CLI `gammaq export --format`).
enum class ExportFormat {
  Qdq,  // an ONNX model with QuantizeLinear/DequantizeLinear (ONNX Runtime runs it)
  C,    // the integer model as one C99 header, <model>.h
  Bin,  // raw little-endian binaries + manifest.json
};

struct ExportOptions {
  int64_t opset = 13;          // Qdq: 13 (int8/uint8) or 21 (int4 weights of <= 4 bits, int16)
  bool uint8_weights = false;  // Qdq: 8-bit weights as uint8 with zero point 128
};

// A model with every tensor's format chosen: what `gammaq quantize --out DIR` writes. A cheap-
// to-copy handle; it keeps its Model alive.
class QuantizedModel {
 public:
  // Reads a quant.json written for `model` (by save() or `gammaq quantize`). Throws Error(Io)
  // when it cannot be read, Error(InvalidData) naming the file when it is malformed, was made
  // for another model file (fingerprint) or does not fit the graph.
  [[nodiscard]] static QuantizedModel load(const Model& model, const std::string& quant_json);

  [[nodiscard]] const Model& model() const noexcept;
  [[nodiscard]] const std::string& method() const noexcept;
  [[nodiscard]] int wbits() const noexcept;
  [[nodiscard]] int abits() const noexcept;
  // Images pass 1 calibrated on (0 for a loaded quant.json).
  [[nodiscard]] int64_t calibration_images() const noexcept;
  // Warnings of the quantization (degenerate tensors and their fallbacks); empty when loaded.
  [[nodiscard]] const std::vector<std::string>& warnings() const noexcept;
  // Every format: activations in graph order (the input first), then each Conv/Gemm layer's
  // weight and bias.
  [[nodiscard]] std::vector<TensorFormat> formats() const;

  // Writes DIR/quant.json, DIR/model.onnx (a copy of the model file, so that DIR is what
  // `gammaq run DIR` and `gammaq export DIR` read) and, for a model quantize() made,
  // DIR/summary.json with the accuracies given (images 0: not measured). Creates DIR; every
  // file is written atomically. Throws Error(Io) naming the file; Error(InvalidData) when the
  // model file changed since it was loaded.
  void save(const std::string& dir, const Accuracy& float_accuracy = {},
            const Accuracy& quantized_accuracy = {}) const;

  // Top-1/top-5 of the fixed-point simulation (float kernels on quantized values) on `data`.
  // Errors as Model::evaluate.
  [[nodiscard]] Accuracy evaluate(Dataset& data, const RunOptions& options = {}) const;
  // Top-1/top-5 of the integer engine: every activation an integer code, every node its
  // bit-exact integer kernel -- what fixed-point hardware computes; equal to the simulation
  // with Reference kernels. Throws, besides Model::evaluate's errors, Error(InvalidData) when
  // feature maps are float and Error(UnsupportedOp) naming a node without an integer form.
  [[nodiscard]] Accuracy evaluate_integer(Dataset& data, const RunOptions& options = {}) const;
  // The simulation's / integer engine's outputs for `images` [N, C, H, W]: [N, classes]. The
  // integer engine's are its output codes times their step, exactly.
  [[nodiscard]] Tensor infer(const Tensor& images, const RunOptions& options = {}) const;
  [[nodiscard]] Tensor infer_integer(const Tensor& images, const RunOptions& options = {}) const;

  // Writes the export: Qdq to the .onnx file `path`; C and Bin into the folder `path`, which
  // must not exist or be empty. A failure leaves nothing behind. Returns warnings (Qdq: ties
  // under a non-ONNX rounding, opset raised). Throws Error(InvalidOption) for a bad path or
  // opset, Error(UnsupportedOp|InvalidData) as evaluate_integer for C and Bin, Error(Io).
  std::vector<std::string> export_to(ExportFormat format, const std::string& path,
                                     const ExportOptions& options = {}) const;

 private:
  struct Impl;
  explicit QuantizedModel(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
  friend class Model;
};

}  // namespace gammaq
