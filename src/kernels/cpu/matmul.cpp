#include "kernels/cpu/matmul.h"

#include <cblas.h>
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <mutex>
#include <vector>

namespace ratkv {

namespace {

// ratkv owns the threading (OpenMP over fixed tiles); BLAS runs one thread per call so that tiles on
// different threads do not oversubscribe the cores and results do not depend on BLAS's own split.
void use_single_threaded_blas() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}

#if defined(__AVX512F__)
inline __m512 load16(const uint8_t* p, DType t) {
  switch (t) {
    case DType::F32:
      return _mm512_loadu_ps(reinterpret_cast<const float*>(p));
    case DType::BF16: {
      __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
      return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
    case DType::F16:
      return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  return _mm512_setzero_ps();
}

inline __m512 load16_masked(const uint8_t* p, DType t, __mmask16 mask) {
  switch (t) {
    case DType::F32:
      return _mm512_maskz_loadu_ps(mask, reinterpret_cast<const float*>(p));
    case DType::BF16: {
      __m256i h = _mm256_maskz_loadu_epi16(mask, p);
      return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
    case DType::F16:
      return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, p));
  }
  return _mm512_setzero_ps();
}

// Four rows at a time share each load of x; the cols % 16 tail uses masked loads.
void gemv_rows_avx512(const float* x, const WeightView& w, int64_t r0, int64_t r1, float* y) {
  const int64_t cols = w.cols;
  const size_t elem = dtype_size(w.dtype);
  const int64_t full = cols / 16 * 16;
  const __mmask16 tail_mask = static_cast<__mmask16>((1u << (cols - full)) - 1);
  int64_t r = r0;
  for (; r + 4 <= r1; r += 4) {
    const uint8_t* rows[4] = {w.row(r), w.row(r + 1), w.row(r + 2), w.row(r + 3)};
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    for (int64_t k = 0; k < full; k += 16) {
      const __m512 xv = _mm512_loadu_ps(x + k);
      for (int i = 0; i < 4; ++i) acc[i] = _mm512_fmadd_ps(load16(rows[i] + k * elem, w.dtype), xv, acc[i]);
    }
    if (full < cols) {
      const __m512 xv = _mm512_maskz_loadu_ps(tail_mask, x + full);
      for (int i = 0; i < 4; ++i)
        acc[i] = _mm512_fmadd_ps(load16_masked(rows[i] + full * elem, w.dtype, tail_mask), xv, acc[i]);
    }
    for (int i = 0; i < 4; ++i) y[r - r0 + i] = _mm512_reduce_add_ps(acc[i]);
  }
  for (; r < r1; ++r) {
    const uint8_t* row = w.row(r);
    __m512 acc = _mm512_setzero_ps();
    for (int64_t k = 0; k < full; k += 16)
      acc = _mm512_fmadd_ps(load16(row + k * elem, w.dtype), _mm512_loadu_ps(x + k), acc);
    if (full < cols)
      acc = _mm512_fmadd_ps(load16_masked(row + full * elem, w.dtype, tail_mask),
                            _mm512_maskz_loadu_ps(tail_mask, x + full), acc);
    y[r - r0] = _mm512_reduce_add_ps(acc);
  }
}
#endif

// Portable path: eight partial sums in a fixed order.
void gemv_rows_scalar(const float* x, const WeightView& w, int64_t r0, int64_t r1, float* y) {
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

void matmul(const float* x, int64_t n, const WeightView& w, const float* bias, float* y) {
  const int64_t rows = w.rows, cols = w.cols;
  if (n <= 4) {
    const int64_t blocks = (rows + kGemvRowBlock - 1) / kGemvRowBlock;
    for (int64_t t = 0; t < n; ++t) {
      // Small products are not worth waking the other threads for.
#pragma omp parallel for schedule(static) if (rows * cols >= 32768)
      for (int64_t b = 0; b < blocks; ++b) {
        const int64_t r0 = b * kGemvRowBlock, r1 = std::min(rows, r0 + kGemvRowBlock);
        gemv_rows(x + t * cols, w, r0, r1, y + t * rows + r0);
      }
    }
  } else {
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
