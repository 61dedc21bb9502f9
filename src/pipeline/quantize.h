// The quantization pipeline (DESIGN.md "The pipeline"): weights by Algorithm 1 (or eq. 8),
// one calibration pass collecting every feature map's statistics, a second pass only for the
// tensors whose choice needs empirical errors, then formats for every feature map.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>

#include "gammaq/dataset.h"
#include "gammaq/executor.h"
#include "gammaq/graph.h"
#include "pipeline/tune.h"
#include "quant/feature_maps.h"
#include "quant/plan.h"

namespace gammaq {

struct QuantizeOptions {
  std::string method = "ggd";  // feature maps: a name of quant/methods/method.h's table
  quant::FmMode mode = quant::FmMode::Default;
  double percentile = 99.99;        // --method percentile: p in (0, 100]
  bool percentile_nonzero = false;  // --percentile-nonzero
  std::string aciq = "mix";         // --aciq laplace|gauss|mix
  bool clip_below_t = true;         // false: --no-clip-below-T (ALGORITHMS.md 11.5)
  int wbits = 8, abits = 8;
  std::string bbits = "acc";  // "acc" (accumulator precision) or a width 2..16
  int weight_window = 4;      // K_w of Algorithm 1 (paper: 2; 0 = walk up while better)
  bool per_channel = false;   // --granularity channel
  // NUUQ weights (ALGORITHMS.md 8): Q levels of the wbits grid per layer (or per channel);
  // 0: uniform (every code of the grid).
  int wlevels = 0;
  // Bias correction (Nagel et al. 2019): each biased layer's bias minus the mean shift its
  // quantized weights cause, E[(W_q - W) x], with E[x] per input channel from pass 1.
  bool bias_correction = false;
  bool nuuq_zero = false, nuuq_sym = false, nuuq_lloyd = false;
  // Threshold-quantizer weights (ALGORITHMS.md 9.1, 9.4.1): "" (off), "normal" or
  // "empirical": 2^wbits equiprobable bins as a codebook per layer (or per channel).
  std::string wthreshold;
  // Threshold quantizers, weights and feature maps: Lloyd-Max after the equiprobable bins;
  // the levels' grid width (0: bits + 4, at most 16).
  bool threshold_lloyd = false;
  int threshold_grid_bits = 0;
  bool float_activations = false;   // WQ and "Ristretto (float FM)": feature maps stay float
  bool signed_activations = false;  // --paper: every feature map signed
  bool alpha_free = false;          // --ggd-alpha free
  quant::Rounding rounding = quant::Rounding::HalfEven;
  int64_t batch = 64;
  int64_t limit = -1;  // calibration images (< 0: all of the spec)
  int threads = 0;
  bool quiet = false;
  // Per-layer / per-tensor bit overrides: name -> {"wbits": n} / {"abits": n}.
  std::map<std::string, int> weight_bits_override, activation_bits_override;
  // Tensors whose fractional length is pinned (overrides file "frac"): no choice is made.
  std::map<std::string, int> activation_frac_override;
  std::string model_sha256;
  ImportOptions import;  // how the model was imported: recorded in the plan
  // Pass 1 runs the network with its weights quantized (the default, ALGORITHMS.md 6.2) or
  // float (--calib-weights float: the statistics `compare` shares across bit widths).
  bool calib_float_weights = false;
  // Backward-forward tuning (ALGORITHMS.md 5, 6.2): "none", "w" (W-BFT with float feature
  // maps, before the feature maps are chosen), "a" (FM-BFT after), "wa" (both: WQ+_FQ+).
  std::string tune = "none";
  TuneOptions tune_options;
  Dataset* val = nullptr;  // the tuning images (required when tune != none)
  // Weight and bias formats to take as they are instead of choosing them (e.g. a plan whose
  // weights W-BFT already tuned); must be a plan of this graph.
  const quant::QuantPlan* weights_from = nullptr;
};

struct QuantizeReport {
  quant::QuantPlan plan;
  int64_t calibration_images = 0;
  double seconds_calibrate = 0, seconds_choose = 0;
  int second_pass_tensors = 0;
  std::vector<std::string> warnings;
  std::vector<TuneReport> tuning;  // W-BFT and/or FM-BFT, in the order they ran
  double seconds_tune = 0;
};

// Values the graph proves non-negative (outputs of Relu, Clip with min >= 0, fused activations
// of those kinds, and pooling/concat/flatten/LRN of non-negative inputs).
[[nodiscard]] std::vector<bool> nonnegative_values(const Graph& g);

// The feature-map half of the pipeline, kept as an object so that one set of calibration
// statistics serves several choices: quantize makes one, compare one per method and width.
// Pass 1 runs at construction; choose() and measure() each run one more pass when needed.
class FeatureMapCalibration {
 public:
  // Pass 1 over the first o.limit images of `calib`, feature maps float and the layer formats
  // of `weights` applied (null: float weights). Throws Error(InvalidData) for an empty set,
  // Error(Numerical) for a tensor with more than one NaN/Inf value in a million.
  FeatureMapCalibration(const Graph& g, Dataset& calib, const quant::QuantPlan* weights,
                        const QuantizeOptions& o);
  ~FeatureMapCalibration();
  FeatureMapCalibration(const FeatureMapCalibration&) = delete;
  FeatureMapCalibration& operator=(const FeatureMapCalibration&) = delete;

  struct Request {
    std::string method;  // a name of the method table
    int abits = 8;       // the width (per-tensor overrides of the options still apply)
  };
  struct Choice {
    std::map<std::string, quant::ActivationFormat> activations;  // by tensor name
    std::map<std::string, int> proposed_frac;  // the same, as fracs (for FM-BFT's notes)
    std::vector<std::string> warnings;         // degenerate tensors
    double seconds = 0;                        // this request's own proposing and deciding
  };
  // Formats for every request: each proposes from the same statistics, and one second pass
  // measures the candidates of all of them together (a format two requests share is
  // measured once).
  [[nodiscard]] std::vector<Choice> choose(std::span<const Request> requests);
  // One pass accumulating the squared errors of errors[v] (by value id; null: none).
  void measure(std::vector<std::unique_ptr<quant::EmpiricalErrors>>& errors, const char* what);

  [[nodiscard]] const std::vector<int>& values() const;  // value ids with statistics
  // With options.bias_correction: the mean of each channel (axis 1) of the data inputs of
  // biased Conv/Gemm layers over the calibration images; empty for other values.
  [[nodiscard]] const std::vector<double>& channel_means(int value) const;
  [[nodiscard]] const stats::TensorStats& stats(int value) const;
  [[nodiscard]] int64_t images() const;
  [[nodiscard]] double seconds_pass1() const;
  [[nodiscard]] double seconds_pass2() const;  // every pass after the first, together
  [[nodiscard]] int second_pass_tensors() const;
  [[nodiscard]] const std::vector<std::string>& warnings() const;  // NaN/Inf values ignored

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Throws Error(InvalidOption) naming the flag for a percentile outside (0, 100] or an unknown
// ACIQ variant: the method options quantize and compare share.
void check_method_options(const QuantizeOptions& o);

// Runs the pipeline. Throws Error(InvalidData) when the calibration set is empty or does not
// fit the model; warnings (degenerate tensors) are returned, not printed.
[[nodiscard]] QuantizeReport quantize_model(const Graph& g, Dataset& calib,
                                            const QuantizeOptions& options);

// Parses the overrides file: {"layers": {"conv1": {"wbits": 8}}, "tensors": {"x": {"abits": 8,
// "frac": 3}}} (a tensor entry needs abits, frac or both).
void read_overrides(const std::string& path, QuantizeOptions& options);

}  // namespace gammaq
