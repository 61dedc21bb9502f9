// Per-layer speed: each node's wall time in float (the fast kernels) and in the integer engine
// (int8 oneDNN kernels where they are exact, int32 loops elsewhere), its MACs and the GOP/s it
// achieves -- so that "int8 slower than fp32" is seen before deployment, not after.
#pragma once

#include <string>
#include <vector>

#include "engine/integer.h"
#include "gammaq/graph.h"
#include "gammaq/tensor.h"

namespace gammaq {

struct ProfileOptions {
  int repeat = 5;   // timed runs per numerics; each figure is the median
  int threads = 0;  // kernel threads (0: the process default)
};

struct LayerProfile {
  std::string name, op;
  int64_t macs = 0;             // per image
  double float_seconds = 0;     // per batch, median
  double integer_seconds = -1;  // per batch, median; < 0 without an integer program
  std::string float_kernel, integer_kernel;
};

struct ProfileReport {
  int64_t batch = 0;
  int repeat = 0, threads = 0;
  double float_seconds = 0;          // the whole network, per batch, median
  double integer_seconds = -1;       // likewise; < 0 without an integer program
  std::vector<LayerProfile> layers;  // graph order
};

// Times `images` (one batch) through g in float and, with `program`, on integers: a warm-up
// run, then options.repeat timed runs of each. Per node, float times come from re-running that
// node alone on its cached inputs (Executor::rerun), integer times from inside full runs.
[[nodiscard]] ProfileReport profile_model(const Graph& g, const IntegerProgram* program,
                                          const Tensor& images, const ProfileOptions& options);

}  // namespace gammaq
