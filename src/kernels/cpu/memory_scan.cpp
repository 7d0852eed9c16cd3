#include "kernels/cpu/memory_scan.h"

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "kernels/cpu/simd.h"

namespace ratkv {

namespace {
constexpr int64_t kChunkChannels = 512;  // channels per task at most
constexpr int64_t kChunkRows = 32;       // rows whose gates are computed before they are scanned
}  // namespace

void memory_scan(const float* gate_logits, float* k, float* v, int64_t n, int64_t width, float* state_k,
                 float* state_v, float gate_max) {
  // Channels are independent, and so are the keys' and the values' recurrences: tasks of one of the two
  // over up to kChunkChannels channels, each sequential over time, walking its rows front to back with the
  // update vectorized across channels. Whole rows per task stream at the memory's rate: one 4,096 × 512
  // layer took 2.2 ms on one core of the development machine with 512-channel tasks, 6.5–6.8 with 128- or
  // 256-channel ones (rows read in part, at a 2 KB stride; tools/bench/memory_scan_bench.cpp). Two threads
  // therefore take the keys and the values, each over whole rows (the gates computed by both), rather than
  // half of the channels each (1.9 ms against 3.9). Before that, going down one channel's column at a time
  // read 4 bytes per row and took 2–3× longer again. The gates use the vector exp of kernels/cpu/simd.h
  // (within 2 ulp of std::exp; the C library's scalar exp was half of the scan's time), and each element's
  // recurrence sees the same operations in the same order as the scalar one, whatever the partition.
  const int64_t threads = omp_get_max_threads();
  // With one thread a task scans both (the gates computed once); with more, the keys and the values are
  // separate tasks.
  const int64_t arrays_per_task = threads == 1 ? 2 : 1;
  const int64_t chunk_channels =
      std::clamp<int64_t>((width * (2 / arrays_per_task) / threads + 15) / 16 * 16, 16, kChunkChannels);
  const int64_t chunks = (width + chunk_channels - 1) / chunk_channels;
  const int64_t tasks = chunks * (2 / arrays_per_task);
#pragma omp parallel for schedule(static) if (n * width > 65536)
  for (int64_t task = 0; task < tasks; ++task) {
    const int64_t chunk = task * arrays_per_task / 2, c0 = chunk * chunk_channels;
    const int64_t count = std::min(chunk_channels, width - c0);
    // The arrays of this task: keys and values, or one of them.
    float* xs[2] = {k, v};
    float* states[2] = {state_k, state_v};
    const int64_t first = arrays_per_task == 2 ? 0 : task % 2;
    alignas(64) float h[2][kChunkChannels], gates[kChunkRows * kChunkChannels];
    for (int64_t a = 0; a < arrays_per_task; ++a) std::copy_n(states[first + a] + c0, count, h[a]);
    for (int64_t t0 = 0; t0 < n; t0 += kChunkRows) {
      const int64_t rows = std::min(kChunkRows, n - t0);
      for (int64_t r = 0; r < rows; ++r) {
        const float* f = gate_logits + (t0 + r) * width + c0;
        float* g = gates + r * kChunkChannels;
#if defined(__AVX512F__)
        for (int64_t c = 0; c < count; c += 16) {
          const __mmask16 mask = simd::lanes(count - c);
          const __m512 sigma = simd::sigmoid_f32x16(_mm512_maskz_loadu_ps(mask, f + c));
          _mm512_mask_storeu_ps(g + c, mask, _mm512_mul_ps(_mm512_set1_ps(gate_max), sigma));
        }
#else
        for (int64_t c = 0; c < count; ++c) g[c] = gate_max * (1.0f / (1.0f + std::exp(-f[c])));
#endif
      }
      for (int64_t r = 0; r < rows; ++r) {
        const float* g = gates + r * kChunkChannels;
        for (int64_t a = 0; a < arrays_per_task; ++a) {
          float* xt = xs[first + a] + (t0 + r) * width + c0;
          float* ha = h[a];
#pragma omp simd
          for (int64_t c = 0; c < count; ++c) {
            ha[c] = g[c] * ha[c] + (1.0f - g[c]) * xt[c];
            xt[c] = ha[c];
          }
        }
      }
    }
    for (int64_t a = 0; a < arrays_per_task; ++a) std::copy_n(h[a], count, states[first + a] + c0);
  }
}

}  // namespace ratkv
