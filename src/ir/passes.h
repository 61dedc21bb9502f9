// Graph passes run after import: what an accelerator would fuse, done once.
#pragma once

#include "gammaq/graph.h"

namespace gammaq {

struct PassReport {
  int removed_identities = 0;  // Identity and Dropout nodes bypassed
  int folded_batchnorms = 0;   // BatchNormalization folded into the preceding Conv
  int fused_activations = 0;   // Relu/Clip/LeakyRelu fused into Conv, Gemm or Add
};

// Bypasses Identity, Dropout (inference: both are the identity) and Pad with all pads 0.
int remove_identities(Graph& g);
// Folds BatchNormalization into the Conv that produces its input when that Conv output has no
// other reader: W' = W * s, b' = (b - mean) * s + B with s = scale / sqrt(var + eps).
// A BatchNormalization with any other producer stays (the executor runs it).
int fold_batchnorm(Graph& g);
// Fuses Relu, Clip and LeakyRelu into the Conv, Gemm or Add producing their input, when that
// output has no other reader and is not the graph output.
int fuse_activations(Graph& g);
// All of the above, in order, then validate().
PassReport optimize(Graph& g);

// Number of nodes reading each value (graph output counts as a reader).
[[nodiscard]] std::vector<int> reader_counts(const Graph& g);

}  // namespace gammaq
