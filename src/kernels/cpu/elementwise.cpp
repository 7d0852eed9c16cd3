#include "kernels/cpu/elementwise.h"

#include <cmath>

namespace ratkv {

void rms_norm(const float* x, const float* weight, int64_t n, int64_t width, float eps, float* y) {
#pragma omp parallel for schedule(static) if (n > 16)
  for (int64_t r = 0; r < n; ++r) {
    const float* xr = x + r * width;
    float* yr = y + r * width;
    // Eight interleaved partial sums: fixed order, vectorizable, and closer to the exact sum than one.
    float partial[8] = {};
    int64_t i = 0;
    for (; i + 8 <= width; i += 8)
      for (int j = 0; j < 8; ++j) partial[j] += xr[i + j] * xr[i + j];
    float sum = 0.0f;
    for (int j = 0; j < 8; ++j) sum += partial[j];
    for (; i < width; ++i) sum += xr[i] * xr[i];
    const float inv = 1.0f / std::sqrt(sum / static_cast<float>(width) + eps);
    for (int64_t c = 0; c < width; ++c) yr[c] = xr[c] * inv * weight[c];
  }
}

void silu_mul(float* gate, const float* up, int64_t count) {
#pragma omp parallel for schedule(static) if (count > 65536)
  for (int64_t i = 0; i < count; ++i) {
    const float g = gate[i];
    gate[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

void gelu_erf(float* x, int64_t count) {
#pragma omp parallel for schedule(static) if (count > 65536)
  for (int64_t i = 0; i < count; ++i)
    x[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * static_cast<float>(M_SQRT1_2)));
}

void multiply_by_sigmoid(float* x, const float* gate, int64_t count) {
#pragma omp parallel for schedule(static) if (count > 65536)
  for (int64_t i = 0; i < count; ++i) x[i] *= 1.0f / (1.0f + std::exp(-gate[i]));
}

}  // namespace ratkv
