#pragma once
// Dense products with weights read in place (f32, bf16 or f16), f32 activations and f32 accumulation.
#include <cstdint>

#include "kernels/cpu/gemm.h"
#include "tensor/weight_view.h"

namespace ratkv {

// y[n, w.rows] = x[n, w.cols] · wᵀ + bias (bias may be null). x and y are row-major f32 with leading
// dimensions w.cols and w.rows. Work is split into fixed tiles, each reduced in a fixed order by one
// thread, so the result does not depend on the number of threads. n ≤ 4 takes the GEMV path (decode,
// always f32 products); larger n the packed GEMM of kernels/cpu/gemm.h in `precision` (prefill).
void matmul(const float* x, int64_t n, const WeightView& w, const float* bias, float* y,
            MatmulPrecision precision = MatmulPrecision::F32);

// Products of at least this many rows run on the packed GEMM (kernels/cpu/gemm.h), fewer on the GEMV: the
// two sum in different orders, so a row's result depends on which side of this its call falls.
constexpr int64_t kMatmulGemmMinRows = 5;

// Several products of the same input x[n, cols] (e.g. q, k, v and the gates of a layer): y_i = x · W_iᵀ
// + bias_i for each target, identical to one matmul per target. Below kMatmulGemmMinRows rows (decode) all
// their row blocks share one parallel region, saving a fork and join per product.
struct MatmulTarget {
  const WeightView* w;
  const float* bias;  // may be null
  float* y;           // [n, w->rows]
};
void matmul_many(const float* x, int64_t n, const MatmulTarget* targets, int64_t count,
                 MatmulPrecision precision = MatmulPrecision::F32);

// The same product by plain loops with double accumulation: the reference the optimized paths are
// tested against.
void matmul_reference(const float* x, int64_t n, const WeightView& w, const float* bias, float* y);

// Dot products of one f32 vector with rows [r0, r1) of w: y[r - r0] = x · w[r]. One thread, fixed order.
void gemv_rows(const float* x, const WeightView& w, int64_t r0, int64_t r1, float* y);

}  // namespace ratkv
