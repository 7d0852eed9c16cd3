#pragma once
// Attention of one query head over a set of cached tokens, read in place from the pages of the KV cache.
// One softmax over exactly the given tokens, f32 scores and accumulation. Dense attention passes every
// token up to the query's position; sparse methods pass the spans their selector chose.
#include <cstdint>
#include <vector>

#include "cache/kv_cache.h"

namespace ratkv {

// A run of consecutive tokens [start, start + count) that lies within one cache page.
struct TokenSpan {
  int64_t start;
  int64_t count;
};

// Spans covering tokens [0, end) page by page.
void dense_spans(const KvCache& cache, int64_t end, std::vector<TokenSpan>& spans);

// out[head_dim] = Σ_j softmax_j(q · k_j · scale) v_j over the tokens of `spans`, for KV head `kv_head`.
// scores is scratch space resized as needed.
void attend(const float* q, const std::vector<TokenSpan>& spans, const KvCache& cache, int64_t layer,
            int64_t kv_head, float scale, std::vector<float>& scores, float* out);

// Causal dense attention for a block of queries. q, out: [n, num_heads * head_dim]; query i sits at
// position position0 + i and attends to cache tokens [0, position0 + i]. Query head h reads KV head
// h / (num_heads / num_kv_heads). Parallel over (query, head) pairs.
void causal_attention(const float* q, int64_t n, int64_t position0, const KvCache& cache, int64_t layer,
                      int64_t num_heads, float scale, float* out);

// Dot product of an f32 vector with n elements stored in the cache dtype.
float dot_cached(const float* x, const uint8_t* y, DType dtype, int64_t n);
// acc[i] += weight * y[i] for n elements stored in the cache dtype.
void axpy_cached(float weight, const uint8_t* y, DType dtype, int64_t n, float* acc);

}  // namespace ratkv
