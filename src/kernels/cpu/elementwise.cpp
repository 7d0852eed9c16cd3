#include "kernels/cpu/elementwise.h"

#include <cmath>

#include "kernels/cpu/simd.h"

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

// The FFN activations and the output gate run once per element of the prompt's activations: with AVX-512
// they use the vector exp and erf of kernels/cpu/simd.h (a scalar std::erf was ~9% of a 4K prefill, the
// gate's scalar std::exp ~2% of the NIAH grid), 16 elements a step with a masked tail; elsewhere std::exp
// / std::erf.
void silu_mul(float* gate, const float* up, int64_t count) {
#if defined(__AVX512F__)
#pragma omp parallel for schedule(static) if (count > 65536)
  for (int64_t i = 0; i < count; i += 16) {
    const __mmask16 mask = simd::lanes(count - i);
    const __m512 g = _mm512_maskz_loadu_ps(mask, gate + i);
    const __m512 e = simd::exp_f32x16(_mm512_sub_ps(_mm512_setzero_ps(), g));
    const __m512 silu = _mm512_div_ps(g, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
    _mm512_mask_storeu_ps(gate + i, mask, _mm512_mul_ps(silu, _mm512_maskz_loadu_ps(mask, up + i)));
  }
#else
#pragma omp parallel for schedule(static) if (count > 65536)
  for (int64_t i = 0; i < count; ++i) {
    const float g = gate[i];
    gate[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
#endif
}

void gelu_erf(float* x, int64_t count) {
#if defined(__AVX512F__)
#pragma omp parallel for schedule(static) if (count > 65536)
  for (int64_t i = 0; i < count; i += 16) {
    const __mmask16 mask = simd::lanes(count - i);
    const __m512 v = _mm512_maskz_loadu_ps(mask, x + i);
    const __m512 e = simd::erf_f32x16(_mm512_mul_ps(v, _mm512_set1_ps(static_cast<float>(M_SQRT1_2))));
    const __m512 g =
        _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), v), _mm512_add_ps(_mm512_set1_ps(1.0f), e));
    _mm512_mask_storeu_ps(x + i, mask, g);
  }
#else
#pragma omp parallel for schedule(static) if (count > 65536)
  for (int64_t i = 0; i < count; ++i)
    x[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * static_cast<float>(M_SQRT1_2)));
#endif
}

void multiply_by_sigmoid(float* x, const float* gate, int64_t count) {
#if defined(__AVX512F__)
#pragma omp parallel for schedule(static) if (count > 65536)
  for (int64_t i = 0; i < count; i += 16) {
    const __mmask16 mask = simd::lanes(count - i);
    const __m512 g = simd::sigmoid_f32x16(_mm512_maskz_loadu_ps(mask, gate + i));
    _mm512_mask_storeu_ps(x + i, mask, _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, x + i), g));
  }
#else
#pragma omp parallel for schedule(static) if (count > 65536)
  for (int64_t i = 0; i < count; ++i) x[i] *= 1.0f / (1.0f + std::exp(-gate[i]));
#endif
}

}  // namespace ratkv
