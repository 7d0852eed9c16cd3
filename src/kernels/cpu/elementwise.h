#pragma once
// Row-wise and element-wise kernels of the forward pass. All f32, in place where noted; each row is
// reduced in a fixed order so results do not depend on the thread count.
#include <cstdint>

namespace ratkv {

// y[r, :] = x[r, :] * rsqrt(mean(x[r, :]²) + eps) * weight, for rows r < n of width `width`. y may be x.
void rms_norm(const float* x, const float* weight, int64_t n, int64_t width, float eps, float* y);

// gate[i] = silu(gate[i]) * up[i], i < count. The SwiGLU combination, written into gate.
void silu_mul(float* gate, const float* up, int64_t count);

// x[i] = 0.5 x (1 + erf(x / √2)): the exact GELU (torch.nn.GELU()).
void gelu_erf(float* x, int64_t count);

// x[i] *= sigmoid(gate[i]): RAT+'s output gate.
void multiply_by_sigmoid(float* x, const float* gate, int64_t count);

inline float sigmoid(float x) {
  return 1.0f / (1.0f + __builtin_expf(-x));
}

}  // namespace ratkv
