#pragma once
// Dense products with weights read in place (f32, bf16 or f16), f32 activations and f32 accumulation.
#include <cstdint>

#include "tensor/weight_view.h"

namespace ratkv {

// y[n, w.rows] = x[n, w.cols] · wᵀ + bias (bias may be null). x and y are row-major f32 with leading
// dimensions w.cols and w.rows. Work is split into fixed tiles, each reduced in a fixed order by one
// thread, so the result does not depend on the number of threads. n ≤ 4 takes the GEMV path (decode);
// larger n converts weight tiles to f32 and calls single-threaded BLAS sgemm per tile (prefill).
void matmul(const float* x, int64_t n, const WeightView& w, const float* bias, float* y);

// The same product by plain loops with double accumulation: the reference the optimized paths are
// tested against.
void matmul_reference(const float* x, int64_t n, const WeightView& w, const float* bias, float* y);

// Dot products of one f32 vector with rows [r0, r1) of w: y[r - r0] = x · w[r]. One thread, fixed order.
void gemv_rows(const float* x, const WeightView& w, int64_t r0, int64_t r1, float* y);

}  // namespace ratkv
