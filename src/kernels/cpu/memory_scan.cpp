#include "kernels/cpu/memory_scan.h"

#include <cmath>

namespace ratkv {

void memory_scan(const float* gate_logits, float* k, float* v, int64_t n, int64_t width, float* state_k,
                 float* state_v, float gate_max) {
  // Channels are independent: parallel over channels, sequential over time.
#pragma omp parallel for schedule(static) if (n * width > 65536)
  for (int64_t c = 0; c < width; ++c) {
    float hk = state_k[c], hv = state_v[c];
    for (int64_t t = 0; t < n; ++t) {
      const int64_t i = t * width + c;
      const float g = gate_max * (1.0f / (1.0f + std::exp(-gate_logits[i])));
      const float keep = 1.0f - g;
      hk = g * hk + keep * k[i];
      hv = g * hv + keep * v[i];
      k[i] = hk;
      v[i] = hv;
    }
    state_k[c] = hk;
    state_v[c] = hv;
  }
}

}  // namespace ratkv
