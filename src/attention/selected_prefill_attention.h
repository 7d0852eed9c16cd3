#pragma once
// Prompt attention in which every query attends to its own selection of tokens (block-sparse prefill:
// MoBA's top-k blocks, StreamingLLM's sinks and window, ...), computed on the tiles of the dense prefill
// kernel (prefill_attention.h) instead of one query at a time. Same result as one softmax per query over
// exactly its selected tokens (attend_group) up to f32 rounding.
//
// A task is (KV head, tile of 64 queries). It asks for the selection of each of its queries, marks the
// selected tokens as 64-bit masks per (key tile of 64 tokens, row), and for each key tile that any row
// selected runs S = Q·Kᵀ on the rows that selected it (gathered), masks the unselected scores out of the
// online softmax and adds P·V. Cost: the selected key tiles per row, not the visible tokens. A selection
// scattered over many tiles (RAT+'s dilated tokens) would cost as much as dense that way; a task whose
// masked tiles hold several times more tokens than it selected attends query by query instead.
#include <cstdint>
#include <vector>

#include "attention/attend.h"
#include "cache/kv_cache.h"
#include "kernels/cpu/gemm.h"

namespace ratkv {

// The source of the selections: who attends to what.
class PrefillSelection {
 public:
  virtual ~PrefillSelection() = default;
  // Spans (ascending, within pages; cut to [0, position0 + i] by the kernel) that query i of the block
  // attends to for unit `unit`: the KV head when heads_per_unit is the GQA group, the query head when it
  // is 1. Called concurrently from the threads of an OpenMP team (thread = omp_get_thread_num()).
  virtual void select(int64_t i, int64_t unit, std::vector<TokenSpan>& spans) = 0;
  // Around the select() calls of queries [i, i + count) for `unit` (one thread): a chance to score them
  // together, and the end of that batch.
  virtual void prepare(int64_t i, int64_t count, int64_t unit) {}
  virtual void finish() {}
};

// How the tasks of a call ran (for tests and profiles).
struct SelectedPrefillCounts {
  int64_t tiled_tasks = 0;  // on the GEMM tiles
  int64_t query_tasks = 0;  // query by query (scattered selections)
};

// q, out: [n, num_heads * head_dim]; query i sits at position position0 + i; the cache already holds the
// block's keys. heads_per_unit: num_heads / num_kv_heads (the group shares a selection) or 1 (one
// selection per query head). Fixed tiling: results do not depend on the thread count.
// precision: the two products' as in causal_attention_tiled (prefill_attention.h); the query-by-query
// path is f32 either way. first_row: as there, only the query tiles holding rows ≥ first_row are computed.
void selected_attention_tiled(const float* q, int64_t n, int64_t position0, const KvCache& cache,
                              int64_t layer, int64_t num_heads, int64_t heads_per_unit, float scale,
                              PrefillSelection& selection, float* out,
                              SelectedPrefillCounts* counts = nullptr,
                              MatmulPrecision precision = MatmulPrecision::F32, int64_t first_row = 0);

}  // namespace ratkv
