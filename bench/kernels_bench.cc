// Kernel micro-benchmarks of the simulation: fake_quant on a tensor that stays in cache (64 Ki
// values), through its float path (|frac| <= 100) and its double path (larger |frac|), one
// thread. The two paths give the same values (tests/unit/quant/format_test.cc).
//   build/bench/kernels_bench [benchmark flags]
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cmath>
#include <random>
#include <vector>

#include "quant/format.h"

namespace {

void BM_fake_quant(benchmark::State& state) {
  omp_set_num_threads(1);
  const int frac = static_cast<int>(state.range(0));
  std::vector<float> x(size_t{1} << 16);
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  for (float& v : x) v = std::ldexp(normal(rng), -frac + 3);  // a few steps of the grid wide
  gammaq::quant::Format f;
  f.bits = 6;
  f.frac = frac;
  // In place: after the first pass the values sit on the grid, which costs the same (the
  // loops have no data-dependent branches).
  for (auto _ : state) {
    gammaq::quant::fake_quant(x, f, gammaq::quant::Rounding::HalfEven);
    benchmark::DoNotOptimize(x.data());
  }
  state.counters["ns_per_value"] = benchmark::Counter(
      static_cast<double>(x.size()) * static_cast<double>(state.iterations()) * 1e-9,
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

}  // namespace

BENCHMARK(BM_fake_quant)->ArgName("frac")->Arg(3)->Arg(120);
BENCHMARK_MAIN();
