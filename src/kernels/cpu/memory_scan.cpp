#include "kernels/cpu/memory_scan.h"

#include <omp.h>

#include <algorithm>
#include <cmath>

namespace ratkv {

namespace {
constexpr int64_t kChunkChannels = 128;  // channels per task at most
constexpr int64_t kChunkRows = 32;       // rows whose gates are computed before they are scanned
}  // namespace

void memory_scan(const float* gate_logits, float* k, float* v, int64_t n, int64_t width, float* state_k,
                 float* state_v, float gate_max) {
  // Channels are independent: tasks of kChunkChannels channels, each sequential over time, walking its rows
  // front to back (whole cache lines) with the update vectorized across channels. Going down one channel's
  // column at a time, as this did before, read 4 bytes per row of 2 KB and took 2–3× longer. The gates
  // keep the C library's exp, and each element sees the same operations in the same order as in the scalar
  // recurrence (on this compiler the outputs were bit-identical to the column-by-column loop).
  // Narrower chunks (down to one 16-lane vector) when there are fewer chunks than threads; channels are
  // independent, so the partition does not change any result.
  const int64_t threads = omp_get_max_threads();
  const int64_t chunk_channels = std::clamp<int64_t>((width / threads + 15) / 16 * 16, 16, kChunkChannels);
  const int64_t chunks = (width + chunk_channels - 1) / chunk_channels;
#pragma omp parallel for schedule(static) if (n * width > 65536)
  for (int64_t chunk = 0; chunk < chunks; ++chunk) {
    const int64_t c0 = chunk * chunk_channels, count = std::min(chunk_channels, width - c0);
    alignas(64) float hk[kChunkChannels], hv[kChunkChannels], gates[kChunkRows * kChunkChannels];
    std::copy_n(state_k + c0, count, hk);
    std::copy_n(state_v + c0, count, hv);
    for (int64_t t0 = 0; t0 < n; t0 += kChunkRows) {
      const int64_t rows = std::min(kChunkRows, n - t0);
      for (int64_t r = 0; r < rows; ++r) {
        const float* f = gate_logits + (t0 + r) * width + c0;
        float* g = gates + r * kChunkChannels;
        for (int64_t c = 0; c < count; ++c) g[c] = gate_max * (1.0f / (1.0f + std::exp(-f[c])));
      }
      for (int64_t r = 0; r < rows; ++r) {
        float* kt = k + (t0 + r) * width + c0;
        float* vt = v + (t0 + r) * width + c0;
        const float* g = gates + r * kChunkChannels;
#pragma omp simd
        for (int64_t c = 0; c < count; ++c) {
          const float keep = 1.0f - g[c];
          hk[c] = g[c] * hk[c] + keep * kt[c];
          hv[c] = g[c] * hv[c] + keep * vt[c];
          kt[c] = hk[c];
          vt[c] = hv[c];
        }
      }
    }
    std::copy_n(hk, count, state_k + c0);
    std::copy_n(hv, count, state_v + c0);
  }
}

}  // namespace ratkv
