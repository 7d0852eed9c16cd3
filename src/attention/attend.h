#pragma once
// Attention of query heads over a set of cached tokens, read in place from the pages of the KV cache.
// One softmax over exactly the given tokens, f32 scores and accumulation. Dense attention passes every
// token up to the query's position; sparse methods pass the spans their selector chose.
//
// The fast kernels compute the softmax online (running maximum and sum, blocks of 16 keys, vectorized
// exp), so any split of the keys into parts can be merged afterwards by log-sum-exp (decode_attention
// splits long contexts across threads that way). attend_reference is the plain two-pass softmax they are
// tested against (tests/unit/attention_test.cpp).
#include <cstdint>
#include <span>
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
// Appends spans covering tokens [begin, end), split at page boundaries.
void append_range_spans(const KvCache& cache, int64_t begin, int64_t end, std::vector<TokenSpan>& spans);

// The online-softmax state of `heads` query heads over the keys folded in so far, with s_j = scale·q·k_j:
//   o[heads][head_dim] = Σ_j e^{s_j − max} v_j (not yet divided by sum), max[heads], sum[heads] = Σ_j e^{s_j
//   − max}.
// Start from attention_state_init (max −inf, sum 0, o 0).
void attention_state_init(int64_t heads, int64_t head_dim, float* o, float* max, float* sum);

// Folds the tokens of spans[0 .. num_spans) of KV head `kv_head` into the state of query heads
// q[heads][head_dim] (consecutive heads sharing that KV head: a GQA group shares each K/V load).
void attend_partial(const float* q, int64_t heads, const TokenSpan* spans, int64_t num_spans,
                    const KvCache& cache, int64_t layer, int64_t kv_head, float scale, float* o, float* max,
                    float* sum);

// Spans of one KV head's tokens in one cache: a part of a selection whose tokens do not all live in the
// same cache (SnapKV's compacted prompt rows, then the sequence's later tokens).
struct AttendPart {
  const KvCache* cache = nullptr;
  const TokenSpan* spans = nullptr;
  int64_t num_spans = 0;
};

// out[heads][head_dim] = Σ_j softmax_j(q_h · k_j · scale) v_j over the tokens of every part, in order — one
// softmax over all of them — for query heads q[heads][head_dim] of KV head `kv_head` (the same head index in
// each part's cache). No token at all gives 0.
void attend_parts(const float* q, int64_t heads, std::span<const AttendPart> parts, int64_t layer,
                  int64_t kv_head, float scale, float* out);

// attend_parts over the tokens of `spans` in `cache`. attend is the one-head case.
void attend_group(const float* q, int64_t heads, const std::vector<TokenSpan>& spans, const KvCache& cache,
                  int64_t layer, int64_t kv_head, float scale, float* out);
void attend(const float* q, const std::vector<TokenSpan>& spans, const KvCache& cache, int64_t layer,
            int64_t kv_head, float scale, float* out);

// The plain reference: all scores, one maximum, std::exp, one sum, then the weighted values. One head.
void attend_reference(const float* q, const std::vector<TokenSpan>& spans, const KvCache& cache,
                      int64_t layer, int64_t kv_head, float scale, float* out);

// Causal dense attention for a block of queries. q, out: [n, num_heads * head_dim]; query i sits at
// position position0 + i and attends to cache tokens [0, position0 + i]. Query head h reads KV head
// h / (num_heads / num_kv_heads). A single query (decode) goes through decode_attention (split-K);
// larger blocks are parallel over (query, KV head) pairs.
void causal_attention(const float* q, int64_t n, int64_t position0, const KvCache& cache, int64_t layer,
                      int64_t num_heads, float scale, float* out);

// One decode query at `position` over tokens [0, position]: q, out [num_heads * head_dim]. The tokens are
// cut into chunks whose size depends only on the length (decode_chunk_tokens); the (chunk) tasks run in
// parallel, each over every KV head of its pages, and the per-chunk states are merged by log-sum-exp in
// chunk order — so the result does not depend on the thread count.
void decode_attention(const float* q, int64_t position, const KvCache& cache, int64_t layer,
                      int64_t num_heads, float scale, float* out);
int64_t decode_chunk_tokens(int64_t tokens);

// Dot product of an f32 vector with n elements stored in the cache dtype.
float dot_cached(const float* x, const uint8_t* y, DType dtype, int64_t n);
// acc[i] += weight * y[i] for n elements stored in the cache dtype.
void axpy_cached(float weight, const uint8_t* y, DType dtype, int64_t n, float* acc);

}  // namespace ratkv
