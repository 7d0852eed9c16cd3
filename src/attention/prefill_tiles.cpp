#include "attention/prefill_tiles.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "base/error.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/simd.h"

namespace ratkv::prefill_tiles {

namespace {

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

}  // namespace

int64_t key_words(int64_t tokens, int64_t dim) {
  return (tokens + kGemmCols - 1) / kGemmCols * kGemmCols * dim;
}

int64_t value_words(int64_t tokens, int64_t dim) {
  return tokens * dim_panels(dim) * kGemmCols;
}

void pack_head(const KvCache& cache, int64_t layer, int64_t kv_head, int64_t tokens, int64_t value_tile,
               MatmulPrecision precision, float* rows, uint32_t* keys, uint32_t* values) {
  require(value_tile % 2 == 0, "pack_head: the value tile must be even, got ", value_tile);
  const int64_t dim = cache.shape().head_dim, panels = dim_panels(dim);
  gather_rows(cache, layer, kv_head, 0, tokens, false, rows);
  const WeightView k_view{reinterpret_cast<const uint8_t*>(rows), DType::F32, tokens, dim};
  pack_weights(k_view, 0, tokens, precision, keys);

  gather_rows(cache, layer, kv_head, 0, tokens, true, rows);
  for (int64_t k0 = 0; k0 < tokens; k0 += value_tile) {
    const int64_t kc = std::min(value_tile, tokens - k0);
    const int64_t steps = gemm_steps(kc, precision);
    uint32_t* tile = values + value_tile_offset(k0, dim, precision);
    for (int64_t p = 0; p < panels; ++p) {
      const int64_t d0 = p * kGemmCols, width = std::min(kGemmCols, dim - d0);
      uint32_t* panel = tile + p * steps * kGemmCols;
      for (int64_t s = 0; s < steps; ++s) {
        uint32_t* dst = panel + s * kGemmCols;
        if (precision == MatmulPrecision::F32) {
          std::memcpy(dst, rows + (k0 + s) * dim + d0, static_cast<size_t>(width) * sizeof(float));
        } else {
          // Tokens 2s and 2s + 1 of the tile, one dimension per word (the lower token in the low half).
          const float* even = rows + (k0 + 2 * s) * dim + d0;
          const float* odd = 2 * s + 1 < kc ? even + dim : nullptr;
          for (int64_t i = 0; i < width; ++i)
            dst[i] = f32_to_bf16(even[i]) | (odd ? static_cast<uint32_t>(f32_to_bf16(odd[i])) << 16 : 0u);
        }
        std::fill(dst + width, dst + kGemmCols, 0u);
      }
    }
  }
}

PackedHeads packed_heads_buffers(int64_t kv_heads, int64_t tokens, int64_t dim) {
  thread_local std::vector<uint32_t> keys, values;
  const int64_t ks = key_words(tokens, dim), vs = value_words(tokens, dim);
  if (keys.size() < static_cast<size_t>(kv_heads * ks)) keys.resize(static_cast<size_t>(kv_heads * ks));
  if (values.size() < static_cast<size_t>(kv_heads * vs)) values.resize(static_cast<size_t>(kv_heads * vs));
  return {keys.data(), values.data(), ks, vs};
}

namespace {
// The row kernels below, once for both kinds of row: lanes_at(j) is the 16-bit mask of the scores among
// s[j, j + 16) that take part (a visible prefix, or a tile's selection).
template <class LanesAt>
float maximum_of_lanes(const float* s, int64_t count, LanesAt lanes_at) {
  float best = -std::numeric_limits<float>::infinity();
#if defined(__AVX512F__)
  __m512 v = _mm512_set1_ps(best);
  for (int64_t j = 0; j < count; j += 16) {
    const __mmask16 lanes = lanes_at(j);
    v = _mm512_mask_max_ps(v, lanes, v, _mm512_maskz_loadu_ps(lanes, s + j));
  }
  best = _mm512_reduce_max_ps(v);
#else
  for (int64_t j = 0; j < count; ++j)
    if (lanes_at(j - j % 16) >> (j % 16) & 1) best = std::max(best, s[j]);
#endif
  return best;
}

// The exps are the vector exp of the decode kernels (kernels/cpu/simd.h, within 2 ulp of std::exp): this
// loop runs once per score of the prompt, T²/2 per head and layer, and a scalar std::exp here was most of
// the prefill's attention time. Scores outside the lanes become 0.
template <class LanesAt>
float exponentiate_lanes(float* s, int64_t count, float max, LanesAt lanes_at) {
  float sum = 0.0f;
#if defined(__AVX512F__)
  const __m512 shift = _mm512_set1_ps(max);
  __m512 total = _mm512_setzero_ps();
  for (int64_t j = 0; j < count; j += 16) {
    const __mmask16 selected = lanes_at(j);
    if (selected == 0) {  // past the visible prefix, or a selection's gap: zeros, no exp
      _mm512_mask_storeu_ps(s + j, simd::lanes(count - j), _mm512_setzero_ps());
      continue;
    }
    const __m512 e = simd::exp_f32x16(_mm512_sub_ps(_mm512_maskz_loadu_ps(selected, s + j), shift));
    const __m512 kept = _mm512_maskz_mov_ps(selected, e);
    _mm512_mask_storeu_ps(s + j, simd::lanes(count - j), kept);
    total = _mm512_add_ps(total, kept);
  }
  sum = _mm512_reduce_add_ps(total);
#else
  for (int64_t j = 0; j < count; ++j) {
    s[j] = lanes_at(j - j % 16) >> (j % 16) & 1 ? std::exp(s[j] - max) : 0.0f;
    sum += s[j];
  }
#endif
  return sum;
}

// The first `visible` of sixteen lanes starting at j.
inline uint16_t prefix_lanes(int64_t visible, int64_t j) {
  return j >= visible ? 0 : visible - j >= 16 ? 0xffff : static_cast<uint16_t>((1u << (visible - j)) - 1);
}
}  // namespace

float row_maximum(const float* s, int64_t visible) {
  return maximum_of_lanes(s, visible, [&](int64_t j) { return prefix_lanes(visible, j); });
}

float exponentiate_row(float* s, int64_t visible, int64_t count, float max) {
  return exponentiate_lanes(s, count, max, [&](int64_t j) { return prefix_lanes(visible, j); });
}

float row_maximum_masked(const float* s, uint64_t mask) {
  return maximum_of_lanes(s, 64, [&](int64_t j) { return static_cast<uint16_t>(mask >> j); });
}

float exponentiate_masked(float* s, uint64_t mask, int64_t count, float max) {
  return exponentiate_lanes(s, count, max, [&](int64_t j) { return static_cast<uint16_t>(mask >> j); });
}

}  // namespace ratkv::prefill_tiles
