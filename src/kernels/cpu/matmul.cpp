#include "kernels/cpu/matmul.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <mutex>
#include <vector>

#include "base/error.h"
#include "kernels/cpu/simd.h"

namespace ratkv {

namespace {

// ratkv owns the threading (OpenMP over fixed tiles); BLAS runs one thread per call so that tiles on
// different threads do not oversubscribe the cores and results do not depend on BLAS's own split.
void use_single_threaded_blas() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}

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
constexpr int64_t kTileRows = 64;      // rows of W per GEMM tile (the unit of parallel work)
constexpr int64_t kTileTokens = 512;   // tokens per sgemm call

}  // namespace

void gemv_rows(const float* x, const WeightView& w, int64_t r0, int64_t r1, float* y) {
#if defined(__AVX512F__)
  gemv_rows_avx512(x, w, r0, r1, y);
#else
  gemv_rows_scalar(x, w, r0, r1, y);
#endif
}

void matmul_many(const float* x, int64_t n, const MatmulTarget* targets, int64_t count) {
  if (count == 0) return;
  const int64_t cols = targets[0].w->cols;
  for (int64_t i = 0; i < count; ++i)
    require(targets[i].w->cols == cols, "matmul_many: products of one input need the same width, got ",
            targets[i].w->cols, " and ", cols);
  if (n > 4) {
    for (int64_t i = 0; i < count; ++i) matmul(x, n, *targets[i].w, targets[i].bias, targets[i].y);
    return;
  }
  // Decode: every row block of every product and token is one task of a single parallel region (one
  // fork and join for q, k, v and the gates together). Each task is computed by one thread in a fixed
  // order, so results do not depend on the thread count or on which products share the region.
  int64_t blocks = 0, work = 0;
  for (int64_t i = 0; i < count; ++i) {
    blocks += (targets[i].w->rows + kGemvRowBlock - 1) / kGemvRowBlock;
    work += targets[i].w->rows * cols;
  }
  // Small products are not worth waking the other threads for.
#pragma omp parallel for schedule(static) if (work >= 32768)
  for (int64_t task = 0; task < n * blocks; ++task) {
    const int64_t t = task / blocks;
    int64_t b = task % blocks, i = 0;
    for (;; ++i) {
      const int64_t target_blocks = (targets[i].w->rows + kGemvRowBlock - 1) / kGemvRowBlock;
      if (b < target_blocks) break;
      b -= target_blocks;
    }
    const WeightView& w = *targets[i].w;
    const int64_t r0 = b * kGemvRowBlock, r1 = std::min(w.rows, r0 + kGemvRowBlock);
    gemv_rows(x + t * cols, w, r0, r1, targets[i].y + t * w.rows + r0);
  }
  for (int64_t i = 0; i < count; ++i) {
    if (!targets[i].bias) continue;
    const int64_t rows = targets[i].w->rows;
    for (int64_t t = 0; t < n; ++t)
      for (int64_t r = 0; r < rows; ++r) targets[i].y[t * rows + r] += targets[i].bias[r];
  }
}

void matmul(const float* x, int64_t n, const WeightView& w, const float* bias, float* y) {
  const int64_t rows = w.rows, cols = w.cols;
  if (n <= 4) {
    const MatmulTarget target{&w, bias, y};
    matmul_many(x, n, &target, 1);
    return;
  }
  use_single_threaded_blas();
  const int64_t row_tiles = (rows + kTileRows - 1) / kTileRows;
#pragma omp parallel
  {
    std::vector<float> converted;
    if (w.dtype != DType::F32) converted.resize(static_cast<size_t>(kTileRows * cols));
#pragma omp for schedule(dynamic)
    for (int64_t rt = 0; rt < row_tiles; ++rt) {
      // Each weight tile is converted once and then multiplied against every token tile.
      const int64_t r0 = rt * kTileRows, nr = std::min(kTileRows, rows - r0);
      const float* wt;
      if (w.dtype == DType::F32) {
        wt = reinterpret_cast<const float*>(w.row(r0));
      } else {
        convert_to_f32(w.row(r0), w.dtype, static_cast<size_t>(nr * cols), converted.data());
        wt = converted.data();
      }
      for (int64_t t0 = 0; t0 < n; t0 += kTileTokens) {
        const int64_t nt = std::min(kTileTokens, n - t0);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(nt), static_cast<int>(nr),
                    static_cast<int>(cols), 1.0f, x + t0 * cols, static_cast<int>(cols), wt,
                    static_cast<int>(cols), 0.0f, y + t0 * rows + r0, static_cast<int>(rows));
      }
    }
  }
  if (bias) {
    for (int64_t t = 0; t < n; ++t)
      for (int64_t r = 0; r < rows; ++r) y[t * rows + r] += bias[r];
  }
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
