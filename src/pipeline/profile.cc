#include "pipeline/profile.h"

#include <algorithm>
#include <chrono>

#include "gammaq/error.h"
#include "gammaq/executor.h"
#include "kernels/fast/fast.h"

namespace gammaq {
namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

}  // namespace

ProfileReport profile_model(const Graph& g, const IntegerProgram* program, const Tensor& images,
                            const ProfileOptions& o) {
  if (o.repeat < 1)
    throw Error(ErrorKind::InvalidOption, str_cat("--repeat ", o.repeat, ": must be >= 1"));
  ProfileReport r;
  r.batch = images.shape.empty() ? 0 : images.shape[0];
  r.repeat = o.repeat;
  r.threads = o.threads > 0 ? o.threads : kernels::kernel_threads();
  const size_t nodes = g.nodes.size();
  r.layers.resize(nodes);
  for (size_t i = 0; i < nodes; ++i) {
    r.layers[i].name = g.nodes[i].name;
    r.layers[i].op = std::string(op_name(g.nodes[i].op));
    r.layers[i].macs = node_macs(g, g.nodes[i]);
  }

  // Float: whole runs, then each node alone on its cached inputs.
  Executor fe(g, {KernelImpl::Fast, o.threads});
  (void)fe.run(images);  // warm-up: primitives made, memory touched
  std::vector<double> whole;
  std::vector<std::vector<double>> per(nodes);
  std::vector<bool> dirty(nodes, false);
  for (int k = 0; k < o.repeat; ++k) {
    const double t0 = now();
    (void)fe.run(images);
    whole.push_back(now() - t0);
    for (size_t i = 0; i < nodes; ++i) {
      dirty[i] = true;
      const double t1 = now();
      (void)fe.rerun(nullptr, dirty);
      per[i].push_back(now() - t1);
      dirty[i] = false;
    }
  }
  r.float_seconds = median(whole);
  for (size_t i = 0; i < nodes; ++i) {
    r.layers[i].float_seconds = median(per[i]);
    r.layers[i].float_kernel = fe.kernel_name(i);
  }
  if (!program) return r;

  // Integer: full runs, each node timed inside them.
  IntegerKernels kernels;
  std::vector<std::vector<int32_t>> codes;
  run_integer(*program, images, codes, &kernels);  // warm-up: int8 kernels made
  whole.clear();
  for (auto& p : per) p.clear();
  for (int k = 0; k < o.repeat; ++k) {
    std::vector<double> seconds(nodes, 0.0);
    const double t0 = now();
    run_integer(*program, images, codes, &kernels, &seconds);
    whole.push_back(now() - t0);
    for (size_t i = 0; i < nodes; ++i) per[i].push_back(seconds[i]);
  }
  r.integer_seconds = median(whole);
  for (size_t i = 0; i < nodes; ++i) {
    r.layers[i].integer_seconds = median(per[i]);
    r.layers[i].integer_kernel = "gammaq int32 loops";
  }
  for (const std::string& d : kernels.describe(*program)) {
    const auto colon = d.find(": ");
    if (colon == std::string::npos) continue;
    for (LayerProfile& l : r.layers)
      if (l.name == d.substr(0, colon)) l.integer_kernel = "oneDNN " + d.substr(colon + 2);
  }
  return r;
}

}  // namespace gammaq
