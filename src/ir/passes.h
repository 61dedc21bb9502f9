// Graph passes run after import: what an accelerator would fuse, done once.
#pragma once

#include "gammaq/graph.h"

namespace gammaq {

struct PassReport {
  int removed_identities = 0;  // Identity and Dropout nodes bypassed
  int folded_batchnorms = 0;   // BatchNormalization folded into the preceding Conv
  int fused_activations = 0;   // Relu/Clip/LeakyRelu fused into Conv, Gemm or Add
  int folded_pads = 0;         // zero Pads of H and W folded into the next Conv's padding
  int fused_swishes = 0;       // SiLU and HardSwish (and HardSigmoid) patterns made one node
  int folded_affines = 0;      // per-channel Mul/Div/Add/Sub by constants folded into a layer
};

// Bypasses Identity, Dropout (inference: both are the identity) and Pad with all pads 0.
int remove_identities(Graph& g);
// Folds BatchNormalization into the Conv that produces its input when that Conv output has no
// other reader: W' = W * s, b' = (b - mean) * s + B with s = scale / sqrt(var + eps).
// A BatchNormalization with any other producer stays (the executor runs it).
int fold_batchnorm(Graph& g);
// Folds a Mul, Div, Add or Sub by a per-output-channel (or scalar) constant into the layer
// (Conv, ConvTranspose, Gemm) producing its input, when that output has no other reader, is not
// a graph output and carries no fused activation: Mul/Div scale the weights and bias, Add/Sub
// shift the bias (in double, rounded once). What exporters write for a batch norm they did not
// fuse (tf2onnx: Mul then Add) and for a bias (MatMul then Add) becomes the layer itself.
int fold_affine(Graph& g);
// Fuses Relu, Clip and LeakyRelu into the Conv, Gemm or Add producing their input, when that
// output has no other reader and is not the graph output.
int fuse_activations(Graph& g);
// Folds a zero constant Pad of H and W read only by a Conv into the Conv's pads (tf2onnx writes
// explicit Pads before its convolutions).
int fold_pads(Graph& g);
// Makes one node of what exporters write for SiLU and hard-swish: x * Sigmoid(x) -> SiLU(x);
// x * HardSigmoid(x) (alpha 1/6, beta 1/2) -> HardSwish(x); (x * Clip(x + 3, 0, 6)) / 6 (or
// * 1/6) -> HardSwish(x); Clip(x + 3, 0, 6) / 6 -> HardSigmoid(x). Intermediate values must
// have no other reader. One rounding where hardware computes one activation.
int fuse_swish(Graph& g);
// All of the above (identities, pads, batchnorms, affine constants, swishes, activations),
// then validate().
PassReport optimize(Graph& g);

// Number of nodes reading each value (graph output counts as a reader).
[[nodiscard]] std::vector<int> reader_counts(const Graph& g);

}  // namespace gammaq
