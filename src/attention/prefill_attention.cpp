#include "attention/prefill_attention.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <vector>

#include "kernels/cpu/simd.h"

namespace ratkv {

namespace {

// ratkv owns the threading (OpenMP over tiles); BLAS must run one thread per call, or its own threads
// spin against ours (and its split would decide the summation order).
void use_single_threaded_blas() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}

constexpr int64_t kQueryTile = 64;  // queries per task (times the GQA group for the rows of a tile)
constexpr int64_t kKeyTile = 128;   // keys per inner step

// Converts keys or values of tokens [start, start + count) of one KV head into rows of f32.
void gather_rows(const KvCache& cache, int64_t layer, int64_t kv_head, int64_t start, int64_t count,
                 bool values, float* rows) {
  const int64_t dim = cache.shape().head_dim, page = cache.shape().page_size;
  const DType dtype = cache.shape().dtype;
  for (int64_t t = start; t < start + count;) {
    const int64_t run = std::min(start + count - t, page - t % page);  // tokens left in this page
    const uint8_t* src = values ? cache.values(layer, t, kv_head) : cache.keys(layer, t, kv_head);
    convert_to_f32(src, dtype, static_cast<size_t>(run * dim), rows + (t - start) * dim);
    t += run;
  }
}

// max of s[0, visible); −inf when visible is 0.
float row_maximum(const float* s, int64_t visible) {
  float best = -std::numeric_limits<float>::infinity();
  int64_t j = 0;
#if defined(__AVX512F__)
  __m512 v = _mm512_set1_ps(best);
  for (; j + 16 <= visible; j += 16) v = _mm512_max_ps(v, _mm512_loadu_ps(s + j));
  best = _mm512_reduce_max_ps(v);
#endif
  for (; j < visible; ++j) best = std::max(best, s[j]);
  return best;
}

// s[j] = exp(s[j] − max) for j < visible and 0 for visible <= j < count; returns their sum. The exps are
// the vector exp of the decode kernels (kernels/cpu/simd.h, within 2 ulp of std::exp): this loop runs
// once per score of the prompt, T²/2 per head and layer, and a scalar std::exp here was most of the
// prefill's attention time.
float exponentiate_row(float* s, int64_t visible, int64_t count, float max) {
  float sum = 0.0f;
  int64_t j = 0;
#if defined(__AVX512F__)
  const __m512 shift = _mm512_set1_ps(max);
  __m512 total = _mm512_setzero_ps();
  for (; j < visible; j += 16) {
    const __mmask16 mask = simd::lanes(visible - j);
    const __m512 e = simd::exp_f32x16(_mm512_sub_ps(_mm512_maskz_loadu_ps(mask, s + j), shift));
    const __m512 kept = _mm512_maskz_mov_ps(mask, e);
    _mm512_mask_storeu_ps(s + j, mask, kept);
    total = _mm512_add_ps(total, kept);
  }
  sum = _mm512_reduce_add_ps(total);
  j = visible;
#else
  for (; j < visible; ++j) {
    s[j] = std::exp(s[j] - max);
    sum += s[j];
  }
#endif
  for (; j < count; ++j) s[j] = 0.0f;
  return sum;
}

}  // namespace

void causal_attention_tiled(const float* q, int64_t n, int64_t position0, const KvCache& cache, int64_t layer,
                            int64_t num_heads, float scale, float* out) {
  use_single_threaded_blas();
  const int64_t dim = cache.shape().head_dim;
  const int64_t kv_heads = cache.shape().num_kv_heads;
  const int64_t group = num_heads / kv_heads;
  const int64_t query_tiles = (n + kQueryTile - 1) / kQueryTile;
  const int64_t row_stride = num_heads * dim;

#pragma omp parallel
  {
    const int64_t max_rows = kQueryTile * group;
    std::vector<float> qt(static_cast<size_t>(max_rows * dim)), acc(qt.size());
    std::vector<float> keys(static_cast<size_t>(kKeyTile * dim)), vals(keys.size());
    std::vector<float> scores(static_cast<size_t>(max_rows * kKeyTile));
    std::vector<float> row_max(static_cast<size_t>(max_rows)), row_sum(row_max.size());
    std::vector<int64_t> row_position(row_max.size());

#pragma omp for schedule(dynamic) collapse(2)
    for (int64_t g = 0; g < kv_heads; ++g) {
      for (int64_t tile = 0; tile < query_tiles; ++tile) {
        const int64_t i0 = tile * kQueryTile, queries = std::min(kQueryTile, n - i0);
        const int64_t rows = queries * group;
        // Row r = (query i0 + r / group, head g * group + r % group); scaled once here.
        for (int64_t r = 0; r < rows; ++r) {
          const int64_t i = i0 + r / group, h = g * group + r % group;
          const float* src = q + i * row_stride + h * dim;
          for (int64_t d = 0; d < dim; ++d) qt[static_cast<size_t>(r * dim + d)] = src[d] * scale;
          row_position[static_cast<size_t>(r)] = position0 + i;
          row_max[static_cast<size_t>(r)] = -std::numeric_limits<float>::infinity();
          row_sum[static_cast<size_t>(r)] = 0.0f;
        }
        std::fill(acc.begin(), acc.begin() + rows * dim, 0.0f);
        const int64_t key_end =
            position0 + i0 + queries;  // exclusive: the tile's last query sees key_end - 1
        for (int64_t k0 = 0; k0 < key_end; k0 += kKeyTile) {
          const int64_t kc = std::min(kKeyTile, key_end - k0);
          gather_rows(cache, layer, g, k0, kc, false, keys.data());
          gather_rows(cache, layer, g, k0, kc, true, vals.data());
          // scores[rows, kc] = qt · keysᵀ
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows), static_cast<int>(kc),
                      static_cast<int>(dim), 1.0f, qt.data(), static_cast<int>(dim), keys.data(),
                      static_cast<int>(dim), 0.0f, scores.data(), static_cast<int>(kc));
          for (int64_t r = 0; r < rows; ++r) {
            float* s = scores.data() + r * kc;
            const int64_t visible = std::clamp<int64_t>(row_position[static_cast<size_t>(r)] - k0 + 1, 0, kc);
            float& m = row_max[static_cast<size_t>(r)];
            const float new_max = std::max(m, row_maximum(s, visible));
            // Rescale what was accumulated under the old maximum.
            const float correction = visible > 0 && m != new_max ? std::exp(m - new_max) : 1.0f;
            const float sum = exponentiate_row(s, visible, kc, new_max);
            if (correction != 1.0f) {
              float* a = acc.data() + r * dim;
              for (int64_t d = 0; d < dim; ++d) a[d] *= correction;
            }
            row_sum[static_cast<size_t>(r)] = row_sum[static_cast<size_t>(r)] * correction + sum;
            if (visible > 0) m = new_max;
          }
          // acc[rows, dim] += scores · vals
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(rows),
                      static_cast<int>(dim), static_cast<int>(kc), 1.0f, scores.data(), static_cast<int>(kc),
                      vals.data(), static_cast<int>(dim), 1.0f, acc.data(), static_cast<int>(dim));
        }
        for (int64_t r = 0; r < rows; ++r) {
          const int64_t i = i0 + r / group, h = g * group + r % group;
          const float inv = 1.0f / row_sum[static_cast<size_t>(r)];
          float* dst = out + i * row_stride + h * dim;
          for (int64_t d = 0; d < dim; ++d) dst[d] = acc[static_cast<size_t>(r * dim + d)] * inv;
        }
      }
    }
  }
}

}  // namespace ratkv
