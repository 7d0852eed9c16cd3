// Times Quest's page-bound scan (ratkv::quest_bounds) over every (layer, KV head) of a cache filled to a
// decode depth, the caches flushed between repetitions, beside plain reads of the same bytes: in the
// scan's order (one run per metadata block and head) and as one contiguous buffer. Separates what the
// access pattern costs from what the arithmetic costs. A measuring tool, not part of the build:
//   bash scripts/build.sh
//   g++ -O2 -march=native -fopenmp -std=c++20 -Isrc tools/bench/quest_scan_bench.cpp \
//       build/libratkv_engine.a -o build/quest_scan_bench
//   build/quest_scan_bench [DEPTH=32768] [THREADS=1] [GROUP=1]
// Shape: the sparse benchmark's model of docs/performance.md (4 layers, 8 KV heads of 64; GROUP query
// heads per KV head), bf16 cache, page 64 (the seed preset).
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "cache/kv_cache.h"
#include "sparse/selection_util.h"

namespace {
double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Sum of 64-byte lines as 32-bit integers (a read that costs nothing but its loads).
inline __m512i read_lines(const uint8_t* p, int64_t bytes, __m512i acc) {
  for (int64_t b = 0; b < bytes; b += 64) acc = _mm512_add_epi32(acc, _mm512_loadu_si512(p + b));
  return acc;
}
}  // namespace

int main(int argc, char** argv) {
  const int64_t depth = argc > 1 ? std::atoll(argv[1]) : 32768;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 1;
  const int64_t group = argc > 3 ? std::atoll(argv[3]) : 1;
  const ratkv::KvCacheShape shape{4, 8, 64, 64, ratkv::DType::BF16};
  const int64_t width = shape.num_kv_heads * shape.head_dim;
  ratkv::KvCache cache(shape);
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  std::vector<float> k(256 * width), v(256 * width);
  for (int64_t t = 0; t < depth; t += 256) {
    const int64_t n = std::min<int64_t>(256, depth - t);
    for (int64_t l = 0; l < shape.num_layers; ++l) {
      for (float& x : k) x = normal(rng);
      for (float& x : v) x = normal(rng);
      cache.append(l, k.data(), v.data(), n);
    }
  }
  const int64_t pages = cache.num_pages(), units = shape.num_layers * shape.num_kv_heads;
  const int64_t bytes = units * pages * cache.min_max_bytes();
  std::vector<float> q(units * group * shape.head_dim), scores(units * pages);
  for (float& x : q) x = normal(rng);
  std::vector<uint8_t> contiguous(bytes, 1);
  std::vector<float> flush(16 << 20);  // 64 MB, twice the last-level cache
  volatile int sink = 0;

  auto time_best = [&](auto&& body) {
    std::vector<double> t;
    for (int rep = 0; rep < 21; ++rep) {
      for (float& x : flush) x += 1.0f;
      const auto start = std::chrono::steady_clock::now();
      body();
      t.push_back(seconds_since(start));
    }
    std::sort(t.begin(), t.end());
    return std::pair{t[0], t[t.size() / 2]};
  };
  auto report = [&](const char* what, std::pair<double, double> t) {
    std::printf("%-44s best %7.3f ms (%5.1f GB/s)  median %7.3f ms (%5.1f GB/s)\n", what, t.first * 1e3,
                bytes / t.first / 1e9, t.second * 1e3, bytes / t.second / 1e9);
  };
  std::printf("depth %lld, %lld pages of 64, group %lld, %d thread(s), metadata %.2f MB\n",
              static_cast<long long>(depth), static_cast<long long>(pages), static_cast<long long>(group),
              threads, bytes / 1e6);

  report("quest_bounds, unit by unit", time_best([&] {
#pragma omp parallel for num_threads(threads) schedule(static)
           for (int64_t u = 0; u < units; ++u)
             ratkv::quest_bounds(q.data() + u * group * shape.head_dim, group, cache, u / shape.num_kv_heads,
                                 u % shape.num_kv_heads, 0, pages, scores.data() + u * pages);
         }));
  // The whole selection of one unit, as the quest selector makes it at budget 1/16 (seed preset: first and
  // local page forced): the scan, then the top-k of the pages between.
  std::vector<std::vector<int64_t>> candidates(threads), chosen(threads);
  report("quest_bounds + top-k (budget 1/16)", time_best([&] {
#pragma omp parallel for num_threads(threads) schedule(static)
           for (int64_t u = 0; u < units; ++u) {
             const int t = omp_get_thread_num();
             ratkv::quest_bounds(q.data() + u * group * shape.head_dim, group, cache, u / shape.num_kv_heads,
                                 u % shape.num_kv_heads, 1, pages - 1, scores.data() + u * pages + 1);
             ratkv::select_units(pages, 1, 1, pages / 16, scores.data() + u * pages, candidates[t],
                                 chosen[t]);
           }
         }));
  report("read the same bytes in the scan's order", time_best([&] {
           int total = 0;
#pragma omp parallel for num_threads(threads) schedule(static) reduction(+ : total)
           for (int64_t u = 0; u < units; ++u) {
             __m512i acc = _mm512_setzero_si512();
             for (int64_t p = 0; p < pages; ++p)
               acc = read_lines(cache.key_min_max(u / shape.num_kv_heads, p, u % shape.num_kv_heads),
                                cache.min_max_bytes(), acc);
             total += _mm512_reduce_add_epi32(acc);
           }
           sink = sink + total;
         }));
  report("read the same bytes, one contiguous buffer", time_best([&] {
           int total = 0;
#pragma omp parallel for num_threads(threads) schedule(static) reduction(+ : total)
           for (int64_t u = 0; u < units; ++u)
             total += _mm512_reduce_add_epi32(
                 read_lines(contiguous.data() + u * (bytes / units), bytes / units, _mm512_setzero_si512()));
           sink = sink + total;
         }));
  report("quest_bounds, warm (no flush between units)", [&] {
    std::vector<double> t;
    for (int rep = 0; rep < 21; ++rep) {
      const auto start = std::chrono::steady_clock::now();
#pragma omp parallel for num_threads(threads) schedule(static)
      for (int64_t u = 0; u < units; ++u)
        ratkv::quest_bounds(q.data() + u * group * shape.head_dim, group, cache, u / shape.num_kv_heads,
                            u % shape.num_kv_heads, 0, pages, scores.data() + u * pages);
      t.push_back(seconds_since(start));
    }
    std::sort(t.begin(), t.end());
    return std::pair{t[0], t[t.size() / 2]};
  }());
}
