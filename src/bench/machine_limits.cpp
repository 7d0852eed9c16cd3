#include "bench/machine_limits.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <vector>

#include "kernels/cpu/simd.h"  // <immintrin.h>, without GCC 12's warnings from inside it

namespace ratkv {

namespace {
double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

double measure_read_bandwidth(int threads) {
  // 1 GiB: far beyond any last-level cache, so every pass reads from memory.
  const size_t floats = size_t{1} << 28;
  std::unique_ptr<float[]> buffer(new float[floats]);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (size_t i = 0; i < floats; ++i) buffer[i] = static_cast<float>(i & 1023);  // first touch by the readers
  double best = 0.0;
  volatile float sink = 0.0f;
  for (int pass = 0; pass < 5; ++pass) {
    const double t0 = now();
    float total = 0.0f;
#pragma omp parallel for num_threads(threads) schedule(static) reduction(+ : total)
    for (size_t block = 0; block < floats / 4096; ++block) {
      const float* p = buffer.get() + block * 4096;
#if defined(__AVX512F__)
      __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
      for (size_t i = 0; i < 4096; i += 64) {
        a0 = _mm512_add_ps(a0, _mm512_load_ps(p + i));
        a1 = _mm512_add_ps(a1, _mm512_load_ps(p + i + 16));
        a2 = _mm512_add_ps(a2, _mm512_load_ps(p + i + 32));
        a3 = _mm512_add_ps(a3, _mm512_load_ps(p + i + 48));
      }
      total += _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
#else
      float s = 0.0f;
      for (size_t i = 0; i < 4096; ++i) s += p[i];
      total += s;
#endif
    }
    const double seconds = now() - t0;
    sink = sink + total;
    best = std::max(best, static_cast<double>(floats) * 4.0 / seconds / 1e9);
  }
  return best;
}

double measure_gemm_peak(int threads) {
  openblas_set_num_threads(1);
  const int n = 1024;
  double best = 0.0;
  std::vector<std::vector<float>> a(threads), b(threads), c(threads);
  for (int t = 0; t < threads; ++t) {
    a[t].assign(size_t(n) * n, 0.5f);
    b[t].assign(size_t(n) * n, 0.25f);
    c[t].assign(size_t(n) * n, 0.0f);
  }
  for (int pass = 0; pass < 3; ++pass) {
    const double t0 = now();
#pragma omp parallel num_threads(threads)
    {
      const int t = omp_get_thread_num();
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0f, a[t].data(), n, b[t].data(), n,
                  0.0f, c[t].data(), n);
    }
    const double seconds = now() - t0;
    best = std::max(best, 2.0 * n * n * double(n) * threads / seconds / 1e9);
  }
  return best;
}

double measure_arithmetic_peak(int threads, MatmulPrecision precision) {
#if defined(__AVX512F__)
#if !defined(__AVX512BF16__)
  if (precision == MatmulPrecision::BF16) return 0.0;
#endif
  // Twelve independent accumulators hide the multiply-add latency (4 cycles × 2 pipes needs 8).
  constexpr int kChains = 12;
  constexpr long kIterations = 4'000'000;
  double best = 0.0;
  volatile float sink = 0.0f;
  for (int pass = 0; pass < 3; ++pass) {
    double seconds = 0.0;
#pragma omp parallel num_threads(threads) reduction(max : seconds)
    {
      __m512 acc[kChains];
      for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(omp_get_thread_num() + i));
      const __m512 x = _mm512_set1_ps(1e-8f), y = _mm512_set1_ps(0.999f);
      const double t0 = now();
      if (precision == MatmulPrecision::F32) {
        for (long it = 0; it < kIterations; ++it)
#pragma GCC unroll 12
          for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(x, y, acc[i]);
      } else {
#if defined(__AVX512BF16__)
        const __m512bh bx = _mm512_cvtne2ps_pbh(x, x), by = _mm512_cvtne2ps_pbh(y, y);
        for (long it = 0; it < kIterations; ++it)
#pragma GCC unroll 12
          for (int i = 0; i < kChains; ++i) acc[i] = _mm512_dpbf16_ps(acc[i], bx, by);
#endif
      }
      seconds = now() - t0;
      __m512 s = acc[0];
      for (int i = 1; i < kChains; ++i) s = _mm512_add_ps(s, acc[i]);
      sink = sink + _mm512_reduce_add_ps(s);
    }
    // An FMA is 16 lanes × 2 flops; a bf16 dot product does two multiply-adds per lane.
    const double flops_per_op = precision == MatmulPrecision::F32 ? 32.0 : 64.0;
    best =
        std::max(best, flops_per_op * kChains * static_cast<double>(kIterations) * threads / seconds / 1e9);
  }
  return best;
#else
  return 0.0;
#endif
}

MachineLimits measure_machine_limits(int threads, MatmulPrecision precision) {
  MachineLimits limits;
  limits.read_gbps = measure_read_bandwidth(threads);
  limits.gemm_gflops = measure_gemm_peak(threads);
  limits.fma_gflops = measure_arithmetic_peak(threads, precision);
  return limits;
}

}  // namespace ratkv
