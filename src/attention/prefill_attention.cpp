#include "attention/prefill_attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "base/scratch.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/simd.h"

namespace ratkv {

namespace {

constexpr int64_t kQueryTile = 64;  // queries per task (times the GQA group for the rows of a tile)
constexpr int64_t kKeyTile =
    128;  // keys per inner step; a multiple of kGemmCols, so that tiles start on panels

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

// One KV head's keys and values in the operand layouts of gemm_packed, made once per call and read by every
// query tile (the keys of a 4,096-token prompt are read by 64 tiles).
//   keys:   S = Q·Kᵀ takes K [tokens, dim] as its weight matrix: panels of kGemmCols tokens, [dim][32] each,
//           so key tile k0 starts at panel k0 / 32.
//   values: P·V takes Vᵀ [dim, tile] as its weight matrix: per key tile of kc tokens, panels of 32 dims,
//           [kc][32] each (a token's 32 values contiguous), the tile's panels after one another.
void pack_head(const KvCache& cache, int64_t layer, int64_t kv_head, int64_t tokens, float* rows,
               uint32_t* keys, uint32_t* values) {
  const int64_t dim = cache.shape().head_dim;
  const int64_t dim_panels = (dim + kGemmCols - 1) / kGemmCols;
  gather_rows(cache, layer, kv_head, 0, tokens, false, rows);
  const WeightView k_view{reinterpret_cast<const uint8_t*>(rows), DType::F32, tokens, dim};
  pack_weights(k_view, 0, tokens, MatmulPrecision::F32, keys);

  gather_rows(cache, layer, kv_head, 0, tokens, true, rows);
  for (int64_t k0 = 0; k0 < tokens; k0 += kKeyTile) {
    const int64_t kc = std::min(kKeyTile, tokens - k0);
    uint32_t* tile = values + k0 * dim_panels * kGemmCols;
    for (int64_t p = 0; p < dim_panels; ++p) {
      const int64_t d0 = p * kGemmCols, width = std::min(kGemmCols, dim - d0);
      uint32_t* panel = tile + p * kc * kGemmCols;
      for (int64_t j = 0; j < kc; ++j) {
        uint32_t* dst = panel + j * kGemmCols;
        std::memcpy(dst, rows + (k0 + j) * dim + d0, static_cast<size_t>(width) * sizeof(float));
        std::fill(dst + width, dst + kGemmCols, 0u);
      }
    }
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
  const int64_t dim = cache.shape().head_dim;
  const int64_t kv_heads = cache.shape().num_kv_heads;
  const int64_t group = num_heads / kv_heads;
  const int64_t query_tiles = (n + kQueryTile - 1) / kQueryTile;
  const int64_t row_stride = num_heads * dim;
  const int64_t tokens = position0 + n;  // every key of the block is in the cache already
  const int64_t dim_panels = (dim + kGemmCols - 1) / kGemmCols;
  const int64_t key_words = (tokens + kGemmCols - 1) / kGemmCols * kGemmCols * dim;
  const int64_t value_words = tokens * dim_panels * kGemmCols;

  // Per calling thread (one forward pass at a time), grown once: the packed keys and values of every head.
  thread_local std::vector<uint32_t> packed_keys, packed_values;
  if (packed_keys.size() < static_cast<size_t>(kv_heads * key_words))
    packed_keys.resize(static_cast<size_t>(kv_heads * key_words));
  if (packed_values.size() < static_cast<size_t>(kv_heads * value_words))
    packed_values.resize(static_cast<size_t>(kv_heads * value_words));
  uint32_t* const keys = packed_keys.data();
  uint32_t* const values = packed_values.data();

#pragma omp parallel
  {
    thread_local ScratchFloats head_rows;  // per team thread, reused by later calls
    head_rows.resize(static_cast<size_t>(tokens * dim));
#pragma omp for schedule(dynamic)
    for (int64_t g = 0; g < kv_heads; ++g)
      pack_head(cache, layer, g, tokens, head_rows.data(), keys + g * key_words, values + g * value_words);

    const int64_t max_rows = kQueryTile * group;
    PackedActivations packed_q, packed_p;
    ScratchFloats qt(static_cast<size_t>(max_rows * dim)), acc(qt.size());
    ScratchFloats scores(static_cast<size_t>(max_rows * kKeyTile));
    std::vector<float> row_max(static_cast<size_t>(max_rows)), row_sum(row_max.size());
    std::vector<int64_t> row_position(row_max.size());

#pragma omp for schedule(dynamic) collapse(2)
    for (int64_t g = 0; g < kv_heads; ++g) {
      for (int64_t tile = 0; tile < query_tiles; ++tile) {
        const int64_t i0 = tile * kQueryTile, queries = std::min(kQueryTile, n - i0);
        const int64_t rows_in_tile = queries * group;
        // Row r = (query i0 + r / group, head g * group + r % group); scaled once here.
        for (int64_t r = 0; r < rows_in_tile; ++r) {
          const int64_t i = i0 + r / group, h = g * group + r % group;
          const float* src = q + i * row_stride + h * dim;
          for (int64_t d = 0; d < dim; ++d) qt[static_cast<size_t>(r * dim + d)] = src[d] * scale;
          row_position[static_cast<size_t>(r)] = position0 + i;
          row_max[static_cast<size_t>(r)] = -std::numeric_limits<float>::infinity();
          row_sum[static_cast<size_t>(r)] = 0.0f;
        }
        prepare_activations(rows_in_tile, dim, MatmulPrecision::F32, packed_q);
        for (int64_t b = 0; b < packed_q.blocks; ++b) pack_activation_block(qt.data(), dim, b, packed_q);
        std::fill(acc.begin(), acc.begin() + rows_in_tile * dim, 0.0f);

        const int64_t key_end =
            position0 + i0 + queries;  // exclusive: the tile's last query sees key_end − 1
        for (int64_t k0 = 0; k0 < key_end; k0 += kKeyTile) {
          const int64_t kc = std::min(kKeyTile, key_end - k0);    // keys any row of the tile can see
          const int64_t width = std::min(kKeyTile, tokens - k0);  // the packed value tile's length
          // scores[rows, kc] = qt · K[k0 : k0 + kc]ᵀ, rows of `width` (the columns past kc are zeroed below)
          gemm_packed(packed_q, keys + g * key_words + k0 * dim, kc, scores.data(), width);
          for (int64_t r = 0; r < rows_in_tile; ++r) {
            float* s = scores.data() + r * width;
            const int64_t visible = std::clamp<int64_t>(row_position[static_cast<size_t>(r)] - k0 + 1, 0, kc);
            float& m = row_max[static_cast<size_t>(r)];
            const float new_max = std::max(m, row_maximum(s, visible));
            // Rescale what was accumulated under the old maximum.
            const float correction = visible > 0 && m != new_max ? std::exp(m - new_max) : 1.0f;
            const float sum = exponentiate_row(s, visible, width, new_max);
            if (correction != 1.0f) {
              float* a = acc.data() + r * dim;
              for (int64_t d = 0; d < dim; ++d) a[d] *= correction;
            }
            row_sum[static_cast<size_t>(r)] = row_sum[static_cast<size_t>(r)] * correction + sum;
            if (visible > 0) m = new_max;
          }
          // acc[rows, dim] += scores · V[k0 : k0 + width]
          prepare_activations(rows_in_tile, width, MatmulPrecision::F32, packed_p);
          for (int64_t b = 0; b < packed_p.blocks; ++b)
            pack_activation_block(scores.data(), width, b, packed_p);
          gemm_packed(packed_p, values + g * value_words + k0 * dim_panels * kGemmCols, dim, acc.data(), dim,
                      0, -1, /*accumulate=*/true);
        }
        for (int64_t r = 0; r < rows_in_tile; ++r) {
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
