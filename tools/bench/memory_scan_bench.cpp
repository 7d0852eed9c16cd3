// Times ratkv::memory_scan on one prompt layer (4,096 rows × 512 channels, keys and values), the caches
// flushed between repetitions as a layer's products would; the figures quoted in
// src/kernels/cpu/memory_scan.cpp and docs/performance.md. A measuring tool, not part of the build:
//   bash scripts/build.sh
//   g++ -O2 -march=native -fopenmp -std=c++20 -Isrc tools/bench/memory_scan_bench.cpp \
//       build/libratkv_engine.a -o build/memory_scan_bench
//   OMP_NUM_THREADS=1 build/memory_scan_bench; OMP_NUM_THREADS=2 build/memory_scan_bench
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include "kernels/cpu/memory_scan.h"

int main() {
  const int64_t n = 4096, width = 512;
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  std::vector<float> gates(n * width), k(n * width), v(n * width), state_k(width), state_v(width);
  for (auto* a : {&gates, &k, &v})
    for (float& x : *a) x = normal(rng);
  std::vector<float> flush(16 << 20);  // 64 MB, more than the last-level cache
  double best = 1e9;
  for (int rep = 0; rep < 15; ++rep) {
    for (float& x : flush) x += 1.0f;
    const auto start = std::chrono::steady_clock::now();
    ratkv::memory_scan(gates.data(), k.data(), v.data(), n, width, state_k.data(), state_v.data(), 1.0f);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  // Bytes: gates, keys and values read, keys and values written.
  std::printf("threads %d: best of 15 %.3f ms (%.1f GB/s)\n", omp_get_max_threads(), best * 1e3,
              5.0 * n * width * 4 / best / 1e9);
}
