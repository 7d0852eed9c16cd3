#pragma once
// Building blocks shared by the tiled prompt-attention kernels (prefill_attention.h,
// selected_prefill_attention.h): a KV head's keys and values packed as gemm_packed operands, and the
// online-softmax steps on one row of scores.
#include <cstdint>
#include <vector>

#include "cache/kv_cache.h"
#include "kernels/cpu/gemm.h"

namespace ratkv::prefill_tiles {

// Words of one KV head's packed keys / values for `tokens` tokens (whatever the value tile), in F32: an
// upper bound for BF16 too.
int64_t key_words(int64_t tokens, int64_t dim);
int64_t value_words(int64_t tokens, int64_t dim);

// One KV head's keys and values of tokens [0, tokens) in the operand layouts of gemm_packed for precision p
// (F32: 32-bit floats; BF16: bf16 pairs along the product's k, kernels/cpu/gemm.h — exact for a bf16 cache):
//   keys:   S = Q·Kᵀ takes K [tokens, dim] as its weight matrix: panels of kGemmCols tokens,
//           [gemm_steps(dim)][32] each, so a key tile starting at k0 (a multiple of 32) starts at word
//           key_tile_offset(k0).
//   values: P·V takes Vᵀ [dim, tile] as its weight matrix: per tile of value_tile tokens (even; the last
//           tile may be shorter), panels of 32 dims, [gemm_steps(tile tokens)][32] each; tile k0 starts at
//           word value_tile_offset(k0).
// rows: scratch of tokens × dim floats.
void pack_head(const KvCache& cache, int64_t layer, int64_t kv_head, int64_t tokens, int64_t value_tile,
               MatmulPrecision p, float* rows, uint32_t* keys, uint32_t* values);

// Panels of kGemmCols dimensions a head's values take.
inline int64_t dim_panels(int64_t dim) {
  return (dim + kGemmCols - 1) / kGemmCols;
}
inline int64_t key_tile_offset(int64_t k0, int64_t dim, MatmulPrecision p) {
  return k0 * gemm_steps(dim, p);
}
inline int64_t value_tile_offset(int64_t k0, int64_t dim, MatmulPrecision p) {
  return gemm_steps(k0, p) * dim_panels(dim) * kGemmCols;
}

// The packed keys and values of every KV head for one call, in buffers owned by the calling thread (one
// forward pass at a time) and grown, never shrunk, across calls.
struct PackedHeads {
  uint32_t* keys;    // KV head g at keys + g · key_stride
  uint32_t* values;  // KV head g at values + g · value_stride
  int64_t key_stride, value_stride;
};
PackedHeads packed_heads_buffers(int64_t kv_heads, int64_t tokens, int64_t dim);

// max of s[0, visible); −inf when visible is 0.
float row_maximum(const float* s, int64_t visible);
// s[j] = exp(s[j] − max) for j < visible and 0 for visible <= j < count; returns their sum.
float exponentiate_row(float* s, int64_t visible, int64_t count, float max);

// The same over the lanes j < 64 whose bit is set in `mask` (bit j ↔ s[j]): max over them (−inf when none);
// s[j] = exp(s[j] − max) where set and 0 elsewhere for j < count (count ≤ 64), returning the sum.
float row_maximum_masked(const float* s, uint64_t mask);
float exponentiate_masked(float* s, uint64_t mask, int64_t count, float max);

}  // namespace ratkv::prefill_tiles
