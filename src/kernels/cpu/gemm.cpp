#include "kernels/cpu/gemm.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

#include "base/error.h"
#include "kernels/cpu/simd.h"

namespace ratkv {

const char* matmul_precision_name(MatmulPrecision p) {
  return p == MatmulPrecision::F32 ? "f32" : "bf16";
}

namespace {

#if defined(__AVX512F__)
constexpr bool kHaveF32Kernel = true;
#else
constexpr bool kHaveF32Kernel = false;
#endif
#if defined(__AVX512BF16__)
constexpr bool kHaveBf16Kernel = true;
#else
constexpr bool kHaveBf16Kernel = false;
#endif

constexpr int64_t kChunkBlocks = 16;  // activation micro-panels per chunk of gemm_packed (measured: 4–64)

// A pair of bf16 k-neighbours in one word, the lower k in the low half (what vdpbf16ps multiplies).
uint32_t bf16_pair(float lo, float hi) {
  return static_cast<uint32_t>(f32_to_bf16(lo)) | static_cast<uint32_t>(f32_to_bf16(hi)) << 16;
}

// Row `src` of k f32 values as `steps` words of precision p.
void row_to_words(const float* src, int64_t k, MatmulPrecision p, uint32_t* dst) {
  if (p == MatmulPrecision::F32) {
    std::memcpy(dst, src, static_cast<size_t>(k) * sizeof(float));
    return;
  }
  int64_t j = 0;
#if defined(__AVX512BF16__)
  // 32 values → 16 pairs. cvtne2ps_pbh(a, b) puts b's 16 values in the low half: b = the first 16.
  for (; j + 32 <= k; j += 32) {
    const __m512bh pairs = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + j + 16), _mm512_loadu_ps(src + j));
    _mm512_storeu_si512(dst + j / 2, reinterpret_cast<__m512i>(pairs));
  }
#endif
  for (; j + 2 <= k; j += 2) dst[j / 2] = bf16_pair(src[j], src[j + 1]);
  if (j < k) dst[j / 2] = bf16_pair(src[j], 0.0f);
}

// dst[s · kGemmRows + i] = rows[i][s] for i < kGemmRows, s < steps: a 12 × steps block transposed, four
// rows at a time by 4 × 4 transposes of 128-bit lanes.
void transpose_rows(const uint32_t* const* rows, int64_t steps, uint32_t* dst) {
  int64_t s = 0;
#if defined(__AVX512F__)
  for (; s + 4 <= steps; s += 4) {
    for (int64_t g = 0; g < kGemmRows; g += 4) {
      __m128 r0 = _mm_loadu_ps(reinterpret_cast<const float*>(rows[g] + s));
      __m128 r1 = _mm_loadu_ps(reinterpret_cast<const float*>(rows[g + 1] + s));
      __m128 r2 = _mm_loadu_ps(reinterpret_cast<const float*>(rows[g + 2] + s));
      __m128 r3 = _mm_loadu_ps(reinterpret_cast<const float*>(rows[g + 3] + s));
      _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
      float* out = reinterpret_cast<float*>(dst + s * kGemmRows + g);
      _mm_storeu_ps(out, r0);
      _mm_storeu_ps(out + kGemmRows, r1);
      _mm_storeu_ps(out + 2 * kGemmRows, r2);
      _mm_storeu_ps(out + 3 * kGemmRows, r3);
    }
  }
#endif
  for (; s < steps; ++s)
    for (int64_t i = 0; i < kGemmRows; ++i) dst[s * kGemmRows + i] = rows[i][s];
}

#if defined(__AVX512F__)
// The register tile c of a micro-kernel into y[0:rows, 0:32] (added to what y holds when accumulating).
// Inlined with constant indices so that c stays in registers; rows past `rows` and columns outside the
// masks are not stored.
[[gnu::always_inline]] inline void store_tile(__m512 (&c)[kGemmRows][2], float* y, int64_t ldy, int64_t rows,
                                              __mmask16 m0, __mmask16 m1, bool accumulate) {
#pragma GCC unroll 12
  for (int i = 0; i < kGemmRows; ++i) {
    if (i >= rows) break;
    float* row = y + i * ldy;
    if (accumulate) {
      c[i][0] = _mm512_add_ps(c[i][0], _mm512_maskz_loadu_ps(m0, row));
      c[i][1] = _mm512_add_ps(c[i][1], _mm512_maskz_loadu_ps(m1, row + 16));
    }
    _mm512_mask_storeu_ps(row, m0, c[i][0]);
    _mm512_mask_storeu_ps(row + 16, m1, c[i][1]);
  }
}

// y[0:rows, 0:32] (+)= a · b over `steps` k-steps: a is [steps][12] f32, b is [steps][32] f32. Rows of the
// tile past `rows` and columns outside the masks are computed (from zero padding) but not stored.
void micro_f32(int64_t steps, const uint32_t* a, const uint32_t* b, float* y, int64_t ldy, int64_t rows,
               __mmask16 m0, __mmask16 m1, bool accumulate) {
  const float* af = reinterpret_cast<const float*>(a);
  const float* bf = reinterpret_cast<const float*>(b);
  __m512 c[kGemmRows][2];
  for (int i = 0; i < kGemmRows; ++i) c[i][0] = c[i][1] = _mm512_setzero_ps();
  for (int64_t s = 0; s < steps; ++s) {
    const __m512 b0 = _mm512_loadu_ps(bf), b1 = _mm512_loadu_ps(bf + 16);
#pragma GCC unroll 12
    for (int i = 0; i < kGemmRows; ++i) {
      const __m512 ai = _mm512_set1_ps(af[i]);
      c[i][0] = _mm512_fmadd_ps(ai, b0, c[i][0]);
      c[i][1] = _mm512_fmadd_ps(ai, b1, c[i][1]);
    }
    af += kGemmRows;
    bf += kGemmCols;
  }
  store_tile(c, y, ldy, rows, m0, m1, accumulate);
}
#endif

#if defined(__AVX512BF16__)
// As micro_f32 with a and b in bf16 pairs: each step multiplies two k's.
void micro_bf16(int64_t steps, const uint32_t* a, const uint32_t* b, float* y, int64_t ldy, int64_t rows,
                __mmask16 m0, __mmask16 m1, bool accumulate) {
  __m512 c[kGemmRows][2];
  for (int i = 0; i < kGemmRows; ++i) c[i][0] = c[i][1] = _mm512_setzero_ps();
  for (int64_t s = 0; s < steps; ++s) {
    const __m512bh b0 = reinterpret_cast<__m512bh>(_mm512_loadu_si512(b));
    const __m512bh b1 = reinterpret_cast<__m512bh>(_mm512_loadu_si512(b + 16));
#pragma GCC unroll 12
    for (int i = 0; i < kGemmRows; ++i) {
      const __m512bh ai = reinterpret_cast<__m512bh>(_mm512_set1_epi32(static_cast<int>(a[i])));
      c[i][0] = _mm512_dpbf16_ps(c[i][0], ai, b0);
      c[i][1] = _mm512_dpbf16_ps(c[i][1], ai, b1);
    }
    a += kGemmRows;
    b += kGemmCols;
  }
  store_tile(c, y, ldy, rows, m0, m1, accumulate);
}
#endif

// Portable tile: the same sums in the same order (per output, k ascending within a pass; the bf16 pair's
// odd k after its even k, each product exact in f32), one scalar at a time.
void micro_portable(MatmulPrecision p, int64_t steps, const uint32_t* a, const uint32_t* b, float* y,
                    int64_t ldy, int64_t rows, int64_t cols, bool accumulate) {
  float c[kGemmRows][kGemmCols] = {};
  for (int64_t s = 0; s < steps; ++s, a += kGemmRows, b += kGemmCols)
    for (int64_t i = 0; i < kGemmRows; ++i)
      for (int64_t j = 0; j < kGemmCols; ++j) {
        if (p == MatmulPrecision::F32) {
          c[i][j] = std::fma(std::bit_cast<float>(a[i]), std::bit_cast<float>(b[j]), c[i][j]);
        } else {
          const float lo =
              bf16_to_f32(static_cast<uint16_t>(a[i])) * bf16_to_f32(static_cast<uint16_t>(b[j]));
          const float hi =
              bf16_to_f32(static_cast<uint16_t>(a[i] >> 16)) * bf16_to_f32(static_cast<uint16_t>(b[j] >> 16));
          c[i][j] = (c[i][j] + hi) + lo;  // the odd k first, as Intel documents vdpbf16ps
        }
      }
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) y[i * ldy + j] = accumulate ? y[i * ldy + j] + c[i][j] : c[i][j];
}

}  // namespace

void prepare_activations(int64_t m, int64_t k, MatmulPrecision p, PackedActivations& packed) {
  require(m >= 0 && k >= 0, "gemm: bad activation shape [", m, ", ", k, "]");
  packed.precision = p;
  packed.m = m;
  packed.k = k;
  packed.steps = gemm_steps(k, p);
  packed.blocks = (m + kGemmRows - 1) / kGemmRows;
  packed.pass_steps = p == MatmulPrecision::F32 ? kGemmDepth : kGemmDepth / 2;
  packed.words.resize(static_cast<size_t>(packed.blocks * packed.steps * kGemmRows));
}

void pack_activation_block(const float* x, int64_t ldx, int64_t b, PackedActivations& packed) {
  const int64_t steps = packed.steps, r0 = b * kGemmRows;
  // Each row in word form: read in place for F32, rounded into pairs in scratch for BF16; rows past m
  // point at zeros. Then transposed pass by pass.
  thread_local std::vector<uint32_t> scratch;
  const bool in_place = packed.precision == MatmulPrecision::F32;
  scratch.assign(static_cast<size_t>((in_place ? 1 : kGemmRows) * steps), 0u);
  const uint32_t* rows[kGemmRows];
  for (int64_t i = 0; i < kGemmRows; ++i) {
    if (r0 + i >= packed.m) {
      rows[i] = scratch.data() + (in_place ? 0 : i * steps);
    } else if (in_place) {
      rows[i] = reinterpret_cast<const uint32_t*>(x + (r0 + i) * ldx);
    } else {
      uint32_t* row = scratch.data() + i * steps;
      row_to_words(x + (r0 + i) * ldx, packed.k, packed.precision, row);
      rows[i] = row;
    }
  }
  for (int64_t s0 = 0; s0 < steps; s0 += packed.pass_steps) {
    const uint32_t* pass_rows[kGemmRows];
    for (int64_t i = 0; i < kGemmRows; ++i) pass_rows[i] = rows[i] + s0;
    transpose_rows(pass_rows, std::min(packed.pass_steps, steps - s0), packed.panel(b, s0));
  }
}

void pack_weights(const WeightView& w, int64_t r0, int64_t r1, MatmulPrecision p,
                  std::vector<uint32_t>& packed) {
  const int64_t panels = (r1 - r0 + kGemmCols - 1) / kGemmCols;
  packed.resize(static_cast<size_t>(panels * gemm_steps(w.cols, p) * kGemmCols));
  pack_weights(w, r0, r1, p, packed.data());
}

void pack_weights(const WeightView& w, int64_t r0, int64_t r1, MatmulPrecision p, uint32_t* packed) {
  const int64_t steps = gemm_steps(w.cols, p);
  const int64_t panels = (r1 - r0 + kGemmCols - 1) / kGemmCols;
  // The last panel's rows past r1 are zero; every other word is written below.
  for (int64_t j = r1 - r0; j < panels * kGemmCols; ++j) {
    uint32_t* dst = packed + (j / kGemmCols) * steps * kGemmCols + j % kGemmCols;
    for (int64_t s = 0; s < steps; ++s) dst[s * kGemmCols] = 0u;
  }
  thread_local std::vector<float> widened;
  thread_local std::vector<uint32_t> words;
  widened.resize(static_cast<size_t>(w.cols));
  words.resize(static_cast<size_t>(steps));
  for (int64_t r = r0; r < r1; ++r) {
    if (p == MatmulPrecision::F32) {
      // Widened straight into word form.
      convert_to_f32(w.row(r), w.dtype, static_cast<size_t>(w.cols), reinterpret_cast<float*>(words.data()));
    } else if (w.dtype == DType::BF16 && w.cols % 2 == 0) {
      // Already bf16 pairs in memory order.
      std::memcpy(words.data(), w.row(r), static_cast<size_t>(steps) * sizeof(uint32_t));
    } else {
      convert_to_f32(w.row(r), w.dtype, static_cast<size_t>(w.cols), widened.data());
      row_to_words(widened.data(), w.cols, p, words.data());
    }
    const int64_t j = r - r0;
    uint32_t* dst = packed + (j / kGemmCols) * steps * kGemmCols + j % kGemmCols;
    for (int64_t s = 0; s < steps; ++s) dst[s * kGemmCols] = words[static_cast<size_t>(s)];
  }
}

void gemm_packed(const PackedActivations& x, const uint32_t* packed_w, int64_t cols, float* y, int64_t ldy,
                 int64_t block_begin, int64_t block_end, bool accumulate_into_y) {
  if (block_end < 0) block_end = x.blocks;
  const int64_t steps = x.steps, panels = (cols + kGemmCols - 1) / kGemmCols;
  const bool fast = x.precision == MatmulPrecision::F32 ? kHaveF32Kernel : kHaveBf16Kernel;
  // Loop order: a chunk of kChunkBlocks activation micro-panels (≤ 192 KB, held in L2) meets each weight
  // panel of the pass (32 KB, held in L1) in turn, so x comes from memory once per pass. An empty k still
  // writes zeros: one pass of no steps.
  for (int64_t s0 = 0; s0 < std::max<int64_t>(steps, 1); s0 += x.pass_steps) {
    const int64_t n_steps = std::min(x.pass_steps, steps - s0);
    const bool accumulate = accumulate_into_y || s0 > 0;
    for (int64_t b0 = block_begin; b0 < block_end; b0 += kChunkBlocks) {
      const int64_t b1 = std::min(block_end, b0 + kChunkBlocks);
      for (int64_t p = 0; p < panels; ++p) {
        const uint32_t* w = packed_w + (p * steps + s0) * kGemmCols;
        const int64_t c0 = p * kGemmCols, n_cols = std::min(kGemmCols, cols - c0);
#if defined(__AVX512F__)
        const __mmask16 m0 = simd::lanes(n_cols), m1 = simd::lanes(std::max<int64_t>(n_cols - 16, 0));
#endif
        for (int64_t b = b0; b < b1; ++b) {
          const uint32_t* a = x.panel(b, s0);
          const int64_t rows = std::min(kGemmRows, x.m - b * kGemmRows);
          float* yt = y + b * kGemmRows * ldy + c0;
          if (!fast) {
            micro_portable(x.precision, n_steps, a, w, yt, ldy, rows, n_cols, accumulate);
            continue;
          }
#if defined(__AVX512F__)
#if defined(__AVX512BF16__)
          if (x.precision == MatmulPrecision::BF16) {
            micro_bf16(n_steps, a, w, yt, ldy, rows, m0, m1, accumulate);
            continue;
          }
#endif
          micro_f32(n_steps, a, w, yt, ldy, rows, m0, m1, accumulate);
#endif
        }
      }
    }
  }
}

void gemm_reference(const float* x, int64_t m, const WeightView& w, MatmulPrecision p, float* y) {
  const auto rounded = [p](float v) { return p == MatmulPrecision::BF16 ? round_to_bf16(v) : v; };
  for (int64_t i = 0; i < m; ++i)
    for (int64_t r = 0; r < w.rows; ++r) {
      double sum = 0.0;
      for (int64_t k = 0; k < w.cols; ++k)
        sum += static_cast<double>(rounded(load_as_f32(w.row(r), static_cast<size_t>(k), w.dtype))) *
               rounded(x[i * w.cols + k]);
      y[i * w.rows + r] = static_cast<float>(sum);
    }
}

}  // namespace ratkv
