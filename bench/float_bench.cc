// Float inference benchmarks: images/s and GFLOP/s of every zoo model (batch 64 by default),
// plus the machine's measured FMA peak, so results can be quoted as a fraction of peak.
//   build/bench/float_bench [--threads=N] [--batch=B] [--models=DIR] [benchmark flags]
// --models: the .onnx files of DIR instead of the zoo (models/), e.g. the 224x224 torchvision
// exports scripts/coverage.py writes.
// scripts/bench_report.js runs this beside ONNX Runtime and writes bench/results.json.
#include <benchmark/benchmark.h>
#include <immintrin.h>
#include <omp.h>

#include <cstring>
#include <filesystem>
#include <random>

#include "gammaq/executor.h"
#include "ir/passes.h"
#include "onnx/import.h"

namespace {

int g_threads = 1;
int64_t g_batch = 64;

// Peak single-precision FMA throughput of one core: 10 independent 8-wide FMA chains.
__attribute__((target("avx2,fma"))) void BM_peak_fma_avx2(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  int64_t flops = 0;
  for (auto _ : state) {
#pragma omp parallel num_threads(threads)
    {
      __m256 acc[10];
      for (int i = 0; i < 10; ++i) acc[i] = _mm256_set1_ps(static_cast<float>(i));
      const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
      for (int it = 0; it < 1000000; ++it)
        for (int i = 0; i < 10; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
      float sink[8];
      __m256 s = acc[0];
      for (int i = 1; i < 10; ++i) s = _mm256_add_ps(s, acc[i]);
      _mm256_storeu_ps(sink, s);
      benchmark::DoNotOptimize(sink[0]);
    }
    flops += int64_t{threads} * 1000000 * 10 * 8 * 2;
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(static_cast<double>(flops) / 1e9, benchmark::Counter::kIsRate);
}

void BM_engine_float(benchmark::State& state, const std::string& path, gammaq::KernelImpl impl) {
  gammaq::Graph g = gammaq::import_onnx_file(path);
  (void)gammaq::optimize(g);
  int64_t macs = 0;
  for (const auto& n : g.nodes) macs += gammaq::node_macs(g, n);
  gammaq::Shape s = g.values[g.input].shape;
  s[0] = g_batch;
  gammaq::Tensor x(s);
  std::mt19937 rng(7767517);
  std::normal_distribution<float> dist;
  for (float& v : x.data) v = dist(rng);
  gammaq::Executor exec(g, {impl, g_threads});
  (void)exec.run(x);  // warm-up: primitive creation, weight reorders
  for (auto _ : state) benchmark::DoNotOptimize(exec.run(x).data.data());
  const double images = static_cast<double>(state.iterations() * g_batch);
  state.counters["images/s"] = benchmark::Counter(images, benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] =
      benchmark::Counter(images * 2.0 * macs / 1e9, benchmark::Counter::kIsRate);
  state.counters["MACs/image"] = static_cast<double>(macs);
  state.counters["threads"] = g_threads;
  state.counters["batch"] = static_cast<double>(g_batch);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> rest;
  std::string zoo = std::string(GAMMAQ_SOURCE_DIR) + "/models";
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--models=", 9) == 0)
      zoo = argv[i] + 9;
    else if (std::strncmp(argv[i], "--threads=", 10) == 0)
      g_threads = std::atoi(argv[i] + 10);
    else if (std::strncmp(argv[i], "--batch=", 8) == 0)
      g_batch = std::atoll(argv[i] + 8);
    else
      rest.push_back(argv[i]);
  }
  omp_set_num_threads(g_threads);
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    benchmark::RegisterBenchmark("BM_peak_fma_avx2", BM_peak_fma_avx2)
        ->Arg(g_threads)
        ->UseRealTime();
  std::vector<std::string> models;
  for (const auto& e : std::filesystem::directory_iterator(zoo))
    if (e.path().extension() == ".onnx") models.push_back(e.path().string());
  std::sort(models.begin(), models.end());
  for (const auto& m : models) {
    const std::string name = std::filesystem::path(m).stem().string();
    benchmark::RegisterBenchmark(
        ("BM_engine_float_fast/" + name).c_str(),
        [m](benchmark::State& s) { BM_engine_float(s, m, gammaq::KernelImpl::Fast); })
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond)
        ->MinTime(2.0);
  }
  int n = static_cast<int>(rest.size());
  benchmark::Initialize(&n, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
