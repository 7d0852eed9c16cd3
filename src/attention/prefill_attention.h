#pragma once
// Causal attention for a block of prompt tokens, computed tile by tile with f32 GEMMs (ratkv's packed
// micro-kernel, kernels/cpu/gemm.h) and an online (running max / running sum) softmax, so that a long
// prompt costs GEMM time instead of one dot product per query-key pair. Same result as one softmax per
// query (attend.h) up to f32 rounding — or, with BF16 products (the opt-in `--matmul bf16`), with the
// queries and the softmax weights rounded to bf16 for the two products (keys and values are exact from a
// bf16 cache), as the projections round their activations in that mode.
#include <cstdint>

#include "cache/kv_cache.h"
#include "kernels/cpu/gemm.h"

namespace ratkv {

// Queries per tile of the prompt kernels (this one and selected_attention_tiled): with first_row, they
// compute rows from first_row / kPromptQueryTile · kPromptQueryTile on, so those rows' queries must exist.
constexpr int64_t kPromptQueryTile = 64;

// q, out: [n, num_heads * head_dim]; query i sits at position position0 + i and attends to cache tokens
// [0, position0 + i] of its KV head (h / (num_heads / num_kv_heads)). Work is split into (KV head,
// query tile) tasks with a fixed tiling, so results do not depend on the thread count.
// Memory: the layer's keys and values of every KV head, packed once per call (at most 2 × num_kv_heads ×
// tokens × head_dim × 4 bytes, tokens = position0 + n), held per calling thread and reused by later calls.
// first_row: only the query tiles that hold rows ≥ first_row are computed (the rest of out is left as it
// was) — for a caller that needs only the last rows; the rows computed are the same bits either way.
void causal_attention_tiled(const float* q, int64_t n, int64_t position0, const KvCache& cache, int64_t layer,
                            int64_t num_heads, float scale, float* out,
                            MatmulPrecision precision = MatmulPrecision::F32, int64_t first_row = 0);

}  // namespace ratkv
