#include "attention/selected_prefill_attention.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "attention/prefill_attention.h"
#include "attention/prefill_tiles.h"
#include "base/scratch.h"
#include "kernels/cpu/gemm.h"

namespace ratkv {

namespace {

using namespace prefill_tiles;

// Queries per task (times the GQA group for the rows of a task).
constexpr int64_t kQueryTile = kPromptQueryTile;
constexpr int64_t kKeyTile = 64;  // keys per mask word; a multiple of kGemmCols, so tiles start on panels
static_assert(kKeyTile == 64, "one uint64_t mask word per row and key tile");
// A task attends query by query when its masked tiles hold more than this many times the tokens it selected.
// An estimate, not a tuned value: attend_partial costs about 6 ns per key and head from L2 on the
// development machine (docs/performance.md), the tiles' two products at ~150–200 GFLOP/s about 1.5–2.
constexpr int64_t kQueryByQueryFactor = 3;

// Sets the bits of tokens [begin, end) in the masks of `row` (masks: [key tile][rows]).
void mark(int64_t begin, int64_t end, int64_t row, int64_t rows, uint64_t* masks) {
  for (int64_t t = begin / kKeyTile; t * kKeyTile < end; ++t) {
    const int64_t lo = std::max(begin, t * kKeyTile) - t * kKeyTile;
    const int64_t hi = std::min(end, (t + 1) * kKeyTile) - t * kKeyTile;
    const uint64_t run = hi - lo == 64 ? ~uint64_t{0} : ((uint64_t{1} << (hi - lo)) - 1);
    masks[t * rows + row] |= run << lo;
  }
}

// Per-thread buffers of one task, grown without zero-filling where every element is written first.
struct TaskScratch {
  std::vector<uint64_t> masks;      // [key tile][row]
  std::vector<TokenSpan> spans;     // the task's selections, one after another
  std::vector<int64_t> span_begin;  // (query, unit) → first span in `spans`
  std::vector<TokenSpan> one;       // one selection
  std::vector<int64_t> active;      // rows that selected something in the current key tile
  ScratchFloats qt, q_active, acc, scores, product;
  std::vector<float> row_max, row_sum;
  PackedActivations packed_q, packed_active, packed_p;
};

struct Task {
  const float* q;
  int64_t n, position0, num_heads, heads_per_unit, dim, group, tokens;
  float scale;
  MatmulPrecision precision;
  const KvCache* cache;
  int64_t layer;
  const uint32_t* keys;    // this KV head's packed keys
  const uint32_t* values;  // and values (kKeyTile-token value tiles)
};

// Attends query by query over the spans the task collected.
void attend_by_query(const Task& t, int64_t g, int64_t i0, int64_t queries, TaskScratch& s, float* out) {
  const int64_t units = t.group / t.heads_per_unit;
  for (int64_t qi = 0; qi < queries; ++qi)
    for (int64_t u = 0; u < units; ++u) {
      const int64_t k = qi * units + u;
      s.one.assign(s.spans.begin() + s.span_begin[static_cast<size_t>(k)],
                   s.spans.begin() + s.span_begin[static_cast<size_t>(k + 1)]);
      const int64_t offset = (i0 + qi) * t.num_heads * t.dim + (g * t.group + u * t.heads_per_unit) * t.dim;
      attend_group(t.q + offset, t.heads_per_unit, s.one, *t.cache, t.layer, g, t.scale, out + offset);
    }
}

// The tiles: S = Q·Kᵀ on the rows that selected something in each key tile, masked online softmax, P·V.
void attend_by_tiles(const Task& t, int64_t g, int64_t i0, int64_t queries, int64_t key_tiles, TaskScratch& s,
                     float* out) {
  const int64_t dim = t.dim, rows = queries * t.group;
  s.qt.resize(static_cast<size_t>(rows * dim));
  s.acc.resize(static_cast<size_t>(rows * dim));
  std::fill(s.acc.begin(), s.acc.begin() + rows * dim, 0.0f);
  s.row_max.assign(static_cast<size_t>(rows), -std::numeric_limits<float>::infinity());
  s.row_sum.assign(static_cast<size_t>(rows), 0.0f);
  // Row r = (query i0 + r / group, head g · group + r % group); scaled once here.
  for (int64_t r = 0; r < rows; ++r) {
    const float* src = t.q + (i0 + r / t.group) * t.num_heads * dim + (g * t.group + r % t.group) * dim;
    for (int64_t d = 0; d < dim; ++d) s.qt[static_cast<size_t>(r * dim + d)] = src[d] * t.scale;
  }
  bool q_packed = false;
  s.scores.resize(static_cast<size_t>(rows * kKeyTile));
  s.product.resize(static_cast<size_t>(rows * dim));

  for (int64_t kt = 0; kt < key_tiles; ++kt) {
    const uint64_t* masks = s.masks.data() + kt * rows;
    s.active.clear();
    for (int64_t r = 0; r < rows; ++r)
      if (masks[r] != 0) s.active.push_back(r);
    if (s.active.empty()) continue;
    const auto m = static_cast<int64_t>(s.active.size());
    const bool all = m == rows;
    const PackedActivations* pq = &s.packed_q;
    if (all && !q_packed) {
      prepare_activations(rows, dim, t.precision, s.packed_q);
      for (int64_t b = 0; b < s.packed_q.blocks; ++b) pack_activation_block(s.qt.data(), dim, b, s.packed_q);
      q_packed = true;
    } else if (!all) {
      s.q_active.resize(static_cast<size_t>(m * dim));
      for (int64_t a = 0; a < m; ++a)
        std::copy_n(s.qt.data() + s.active[static_cast<size_t>(a)] * dim, dim, s.q_active.data() + a * dim);
      prepare_activations(m, dim, t.precision, s.packed_active);
      for (int64_t b = 0; b < s.packed_active.blocks; ++b)
        pack_activation_block(s.q_active.data(), dim, b, s.packed_active);
      pq = &s.packed_active;
    }
    const int64_t k0 = kt * kKeyTile;
    const int64_t kc = std::min(kKeyTile, t.position0 + i0 + queries - k0);  // keys any row can see
    const int64_t width = std::min(kKeyTile, t.tokens - k0);                 // the packed value tile's length
    // scores[m, kc] = Q_active · K[k0 : k0 + kc]ᵀ, rows of `width`
    gemm_packed(*pq, t.keys + key_tile_offset(k0, dim, t.precision), kc, s.scores.data(), width);
    for (int64_t a = 0; a < m; ++a) {
      const auto r = static_cast<size_t>(s.active[static_cast<size_t>(a)]);
      float* row = s.scores.data() + a * width;
      const uint64_t mask = masks[r];
      const float old_max = s.row_max[r];
      const float new_max = std::max(old_max, row_maximum_masked(row, mask));
      // Rescale what was accumulated under the old maximum.
      const float correction = old_max != new_max ? std::exp(old_max - new_max) : 1.0f;
      const float sum = exponentiate_masked(row, mask, width, new_max);
      if (correction != 1.0f) {
        float* acc = s.acc.data() + r * dim;
        for (int64_t d = 0; d < dim; ++d) acc[d] *= correction;
      }
      s.row_sum[r] = s.row_sum[r] * correction + sum;
      s.row_max[r] = new_max;
    }
    // acc[active rows] += P · V[k0 : k0 + width]
    prepare_activations(m, width, t.precision, s.packed_p);
    for (int64_t b = 0; b < s.packed_p.blocks; ++b)
      pack_activation_block(s.scores.data(), width, b, s.packed_p);
    const uint32_t* v = t.values + value_tile_offset(k0, dim, t.precision);
    if (all) {
      gemm_packed(s.packed_p, v, dim, s.acc.data(), dim, 0, -1, /*accumulate=*/true);
      continue;
    }
    gemm_packed(s.packed_p, v, dim, s.product.data(), dim);
    for (int64_t a = 0; a < m; ++a) {
      float* acc = s.acc.data() + s.active[static_cast<size_t>(a)] * dim;
      const float* add = s.product.data() + a * dim;
      for (int64_t d = 0; d < dim; ++d) acc[d] += add[d];
    }
  }
  for (int64_t r = 0; r < rows; ++r) {
    const float sum = s.row_sum[static_cast<size_t>(r)];
    const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;  // a row that selected nothing attends to nothing
    float* dst = out + (i0 + r / t.group) * t.num_heads * dim + (g * t.group + r % t.group) * dim;
    for (int64_t d = 0; d < dim; ++d) dst[d] = s.acc[static_cast<size_t>(r * dim + d)] * inv;
  }
}

}  // namespace

void selected_attention_tiled(const float* q, int64_t n, int64_t position0, const KvCache& cache,
                              int64_t layer, int64_t num_heads, int64_t heads_per_unit, float scale,
                              PrefillSelection& selection, float* out, SelectedPrefillCounts* counts,
                              MatmulPrecision precision, int64_t first_row) {
  const int64_t dim = cache.shape().head_dim;
  const int64_t kv_heads = cache.shape().num_kv_heads;
  const int64_t group = num_heads / kv_heads;
  const int64_t units = group / heads_per_unit;  // selections per query and KV head
  const int64_t query_tiles = (n + kQueryTile - 1) / kQueryTile;
  const int64_t first_tile = std::clamp<int64_t>(first_row, 0, n) / kQueryTile;
  const int64_t tokens = position0 + n;
  const PackedHeads packed = packed_heads_buffers(kv_heads, tokens, dim);
  int64_t tiled_tasks = 0, query_tasks = 0;

#pragma omp parallel reduction(+ : tiled_tasks, query_tasks)
  {
    thread_local ScratchFloats head_rows;  // per team thread, reused by later calls
    head_rows.resize(static_cast<size_t>(tokens * dim));
#pragma omp for schedule(dynamic)
    for (int64_t g = 0; g < kv_heads; ++g)
      pack_head(cache, layer, g, tokens, kKeyTile, precision, head_rows.data(),
                packed.keys + g * packed.key_stride, packed.values + g * packed.value_stride);

    thread_local TaskScratch s;
#pragma omp for schedule(dynamic) collapse(2)
    for (int64_t g = 0; g < kv_heads; ++g) {
      for (int64_t tile = first_tile; tile < query_tiles; ++tile) {
        const Task task{q,
                        n,
                        position0,
                        num_heads,
                        heads_per_unit,
                        dim,
                        group,
                        tokens,
                        scale,
                        precision,
                        &cache,
                        layer,
                        packed.keys + g * packed.key_stride,
                        packed.values + g * packed.value_stride};
        const int64_t i0 = tile * kQueryTile, queries = std::min(kQueryTile, n - i0);
        const int64_t rows = queries * group;
        const int64_t key_tiles = (position0 + i0 + queries + kKeyTile - 1) / kKeyTile;
        s.masks.assign(static_cast<size_t>(key_tiles * rows), 0);
        s.spans.clear();
        s.span_begin.assign(1, 0);
        int64_t selected = 0;
        // One selection per KV head (the default): the selector may score the tile's rows together. (With a
        // selection per query head they alternate between units, and are asked for one by one.)
        if (units == 1) selection.prepare(i0, queries, g);
        for (int64_t qi = 0; qi < queries; ++qi) {
          const int64_t visible = position0 + i0 + qi + 1;
          for (int64_t u = 0; u < units; ++u) {
            s.one.clear();
            selection.select(i0 + qi, heads_per_unit == group ? g : g * group + u, s.one);
            // Both paths see the selection cut to the query's causal range [0, visible).
            for (const TokenSpan& span : s.one) {
              const int64_t begin = std::max<int64_t>(span.start, 0);
              const int64_t end = std::min(span.start + span.count, visible);
              if (begin >= end) continue;
              for (int64_t h = 0; h < heads_per_unit; ++h)
                mark(begin, end, qi * group + u * heads_per_unit + h, rows, s.masks.data());
              selected += (end - begin) * heads_per_unit;
              s.spans.push_back({begin, end - begin});
            }
            s.span_begin.push_back(static_cast<int64_t>(s.spans.size()));
          }
        }
        selection.finish();
        int64_t masked = 0;  // the tokens the tiles would score
        for (const uint64_t m : s.masks) masked += m != 0 ? kKeyTile : 0;
        if (selected * kQueryByQueryFactor < masked) {
          attend_by_query(task, g, i0, queries, s, out);
          query_tasks += 1;
        } else {
          attend_by_tiles(task, g, i0, queries, key_tiles, s, out);
          tiled_tasks += 1;
        }
      }
    }
  }
  if (counts) {
    counts->tiled_tasks += tiled_tasks;
    counts->query_tasks += query_tasks;
  }
}

}  // namespace ratkv
