#include "kernels/cpu/matmul.h"

#include <omp.h>

#include <algorithm>
#include <vector>

#include "base/error.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/simd.h"

namespace ratkv {

namespace {

#if defined(__AVX512F__)
// One row at a time, front to back, with four independent accumulators (16 columns each). Decode is a
// stream of the weights from memory, and one sequential stream per thread is what the hardware
// prefetchers follow best: on the development EPYC this reads a 64 MB bf16 matrix at 33–40 GB/s on one
// core, against 16–21 GB/s for the previous four-rows-at-once kernel (four interleaved streams) that
// shared each load of x. The cols % 64 remainder goes 16 columns at a time, the last ones masked.
void gemv_rows_avx512(const float* x, const WeightView& w, int64_t r0, int64_t r1, float* y) {
  const int64_t cols = w.cols;
  const int64_t elem = static_cast<int64_t>(dtype_size(w.dtype));
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* row = w.row(r);
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    int64_t k = 0;
    for (; k + 64 <= cols; k += 64)
      for (int i = 0; i < 4; ++i)
        acc[i] = _mm512_fmadd_ps(simd::load_f32x16(row + (k + 16 * i) * elem, w.dtype),
                                 _mm512_loadu_ps(x + k + 16 * i), acc[i]);
    for (int i = 0; k < cols; k += 16, ++i) {
      const __mmask16 mask = simd::lanes(cols - k);
      acc[i] = _mm512_fmadd_ps(simd::load_f32x16(row + k * elem, w.dtype, mask),
                               _mm512_maskz_loadu_ps(mask, x + k), acc[i]);
    }
    y[r - r0] =
        _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])));
  }
}
#endif

// Portable path: eight partial sums in a fixed order.
[[maybe_unused]] void gemv_rows_scalar(const float* x, const WeightView& w, int64_t r0, int64_t r1,
                                       float* y) {
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* row = w.row(r);
    float partial[8] = {};
    int64_t k = 0;
    for (; k + 8 <= w.cols; k += 8)
      for (int i = 0; i < 8; ++i)
        partial[i] += load_as_f32(row, static_cast<size_t>(k + i), w.dtype) * x[k + i];
    float sum = 0.0f;
    for (int i = 0; i < 8; ++i) sum += partial[i];
    for (; k < w.cols; ++k) sum += load_as_f32(row, static_cast<size_t>(k), w.dtype) * x[k];
    y[r - r0] = sum;
  }
}

constexpr int64_t kGemvRowBlock = 64;  // rows of W per GEMV task
constexpr int64_t kTileRows = 128;     // rows of W per GEMM task (measured 64, 128, 256)

// The products' rows cut into units of `unit` rows (the last of each product may be shorter), numbered
// across the products in order: how both the GEMV and the GEMM number their tasks.
int64_t count_units(const MatmulTarget* targets, int64_t count, int64_t unit) {
  int64_t units = 0;
  for (int64_t i = 0; i < count; ++i) units += (targets[i].w->rows + unit - 1) / unit;
  return units;
}
struct RowUnit {
  const MatmulTarget* target;
  int64_t r0, r1;
};
RowUnit locate_unit(const MatmulTarget* targets, int64_t index, int64_t unit) {
  for (const MatmulTarget* t = targets;; ++t) {
    const int64_t units = (t->w->rows + unit - 1) / unit;
    if (index < units) return {t, index * unit, std::min(t->w->rows, (index + 1) * unit)};
    index -= units;
  }
}

}  // namespace

void gemv_rows(const float* x, const WeightView& w, int64_t r0, int64_t r1, float* y) {
#if defined(__AVX512F__)
  gemv_rows_avx512(x, w, r0, r1, y);
#else
  gemv_rows_scalar(x, w, r0, r1, y);
#endif
}

namespace {

// Prefill (n > 4): x packed once for all the products, then each task multiplies one kTileRows-row tile of
// one product's W (packed by the task) by a range of x's rows (kernels/cpu/gemm.h). x is cut into ranges
// only when the tiles alone are too few to keep every thread busy to the end (e.g. three tiles on two
// threads); the cut depends on the thread count, which changes no result (each output is still one
// micro-tile's fixed-order sum).
void gemm_many(const float* x, int64_t n, const MatmulTarget* targets, int64_t count,
               MatmulPrecision precision) {
  const int64_t cols = targets[0].w->cols;
  thread_local PackedActivations packed;
  prepare_activations(n, cols, precision, packed);
  const int64_t tiles = count_units(targets, count, kTileRows);
  const int64_t wanted = 4 * omp_get_max_threads();
  const int64_t min_blocks = 64;  // 768 rows of x: enough to amortize packing the W tile again
  const int64_t ranges =
      std::clamp<int64_t>((wanted + tiles - 1) / tiles, 1, std::max<int64_t>(packed.blocks / min_blocks, 1));
  const int64_t range_blocks = (packed.blocks + ranges - 1) / ranges;
  // The region's threads must all use the calling thread's packed x (a thread_local is per thread).
  PackedActivations& a = packed;
#pragma omp parallel
  {
#pragma omp for schedule(static)
    for (int64_t b = 0; b < a.blocks; ++b) pack_activation_block(x, cols, b, a);
    thread_local std::vector<uint32_t> packed_w;
#pragma omp for schedule(dynamic)
    for (int64_t task = 0; task < tiles * ranges; ++task) {
      const RowUnit u = locate_unit(targets, task / ranges, kTileRows);
      const int64_t range = task % ranges;
      pack_weights(*u.target->w, u.r0, u.r1, precision, packed_w);
      gemm_packed(a, packed_w.data(), u.r1 - u.r0, u.target->y + u.r0, u.target->w->rows,
                  range * range_blocks, std::min(a.blocks, (range + 1) * range_blocks));
    }
  }
}

}  // namespace

void matmul_many(const float* x, int64_t n, const MatmulTarget* targets, int64_t count,
                 MatmulPrecision precision) {
  if (count == 0) return;
  const int64_t cols = targets[0].w->cols;
  for (int64_t i = 0; i < count; ++i)
    require(targets[i].w->cols == cols, "matmul_many: products of one input need the same width, got ",
            targets[i].w->cols, " and ", cols);
  if (n >= kMatmulGemmMinRows) {
    gemm_many(x, n, targets, count, precision);
  } else {
    // Decode: every row block of every product and token is one task of a single parallel region (one
    // fork and join for q, k, v and the gates together). Each task is computed by one thread in a fixed
    // order, so results do not depend on the thread count or on which products share the region. The
    // GEMV reads the weights as stored and multiplies in f32 whatever the precision: it is bound by the
    // bytes of the weights, not by the products.
    const int64_t blocks = count_units(targets, count, kGemvRowBlock);
    int64_t work = 0;
    // Small products are not worth waking the other threads for.
    for (int64_t i = 0; i < count; ++i) work += targets[i].w->rows * cols;
#pragma omp parallel for schedule(static) if (work >= 32768)
    for (int64_t task = 0; task < n * blocks; ++task) {
      const int64_t t = task / blocks;
      const RowUnit u = locate_unit(targets, task % blocks, kGemvRowBlock);
      gemv_rows(x + t * cols, *u.target->w, u.r0, u.r1, u.target->y + t * u.target->w->rows + u.r0);
    }
  }
  for (int64_t i = 0; i < count; ++i) {
    if (!targets[i].bias) continue;
    const int64_t rows = targets[i].w->rows;
    for (int64_t t = 0; t < n; ++t)
      for (int64_t r = 0; r < rows; ++r) targets[i].y[t * rows + r] += targets[i].bias[r];
  }
}

void matmul(const float* x, int64_t n, const WeightView& w, const float* bias, float* y,
            MatmulPrecision precision) {
  const MatmulTarget target{&w, bias, y};
  matmul_many(x, n, &target, 1, precision);
}

void matmul_reference(const float* x, int64_t n, const WeightView& w, const float* bias, float* y) {
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t r = 0; r < w.rows; ++r) {
      double sum = 0.0;
      for (int64_t k = 0; k < w.cols; ++k)
        sum +=
            static_cast<double>(load_as_f32(w.row(r), static_cast<size_t>(k), w.dtype)) * x[t * w.cols + k];
      if (bias) sum += bias[r];
      y[t * w.rows + r] = static_cast<float>(sum);
    }
  }
}

}  // namespace ratkv
