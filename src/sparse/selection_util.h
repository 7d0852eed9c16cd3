#pragma once
// Building blocks shared by the selectors: deterministic top-k, block (unit) selection with forced first
// and local units, spans from units or token lists, page scores read from the page metadata, and seeded
// uniform draws that depend only on (seed, layer, unit, position, index) — so they are the same whatever
// the thread count or the order of calls.
#include <cstdint>
#include <vector>

#include "attention/attend.h"
#include "cache/kv_cache.h"
#include "sparse/selector.h"

namespace ratkv {

// Indices of the k largest scores among `candidates` (ties: the lower index first), in ascending index
// order, written to out. scores is indexed by candidate value. O(|candidates|).
void top_k(const float* scores, std::vector<int64_t>& candidates, int64_t k, std::vector<int64_t>& out);

// Units [0, n): the first `first` and the last `local` are forced; the rest compete through `scores`
// (indexed by unit; entries of forced units are never read) for max(0, k - forced) more places. Result
// ascending in `chosen`. `candidates` is scratch.
void select_units(int64_t n, int64_t first, int64_t local, int64_t k, const float* scores,
                  std::vector<int64_t>& candidates, std::vector<int64_t>& chosen);
// The scored (non-forced) unit range [begin, end) of select_units.
inline int64_t middle_begin(int64_t n, int64_t first) {
  return first < n ? first : n;
}
inline int64_t middle_end(int64_t n, int64_t first, int64_t local) {
  const int64_t e = n - local;
  return e > middle_begin(n, first) ? e : middle_begin(n, first);
}

// Appends the spans of units (each `unit_tokens` long, a multiple of page_size) clipped to [0, end).
void spans_of_units(const std::vector<int64_t>& units, int64_t unit_tokens, int64_t page_size, int64_t end,
                    std::vector<TokenSpan>& spans);
// Appends the spans of ascending token positions, merging runs within a page.
void spans_of_tokens(const int64_t* tokens, int64_t count, int64_t page_size, std::vector<TokenSpan>& spans);
// Appends spans covering [begin, end), split at page boundaries.
void spans_of_range(int64_t begin, int64_t end, int64_t page_size, std::vector<TokenSpan>& spans);

// The unit selection shared by the unit-scoring selectors (quest, random, moba): units of unit_tokens
// tokens (a multiple of page_size) cover [0, end); the first `first` and the last `local` units are
// forced; score(begin, stop, scores) fills scores[begin, stop) for the competing units — a range, so a
// selector can batch its scan; and the K = max(1, budget / unit_tokens) units kept (forced included)
// become ascending spans. Uses scratch.scores, indices and chosen.
template <class ScoreRange>
void select_scored_units(int64_t end, int64_t unit_tokens, int64_t page_size, int64_t first, int64_t local,
                         int64_t budget, SelectScratch& scratch, std::vector<TokenSpan>& spans,
                         ScoreRange score) {
  const int64_t n = (end + unit_tokens - 1) / unit_tokens;
  const int64_t begin = middle_begin(n, first), stop = middle_end(n, first, local);
  scratch.scores.resize(static_cast<size_t>(n));
  score(begin, stop, scratch.scores.data());
  select_units(n, first, local, budget / unit_tokens > 1 ? budget / unit_tokens : 1, scratch.scores.data(),
               scratch.indices, scratch.chosen);
  spans.clear();
  spans_of_units(scratch.chosen, unit_tokens, page_size, end, spans);
}

// Quest's page bound Σ_d max(q_d·min_d, q_d·max_d) in f32; min_max = [2][dim] in dtype (KvCache layout).
float quest_bound(const float* q, const uint8_t* min_max, DType dtype, int64_t dim);
// The bounds of pages [p0, p1) of one layer and KV head, max over query heads q[num_queries][head_dim]:
// out[p − p0]. Sixteen pages at a time share their horizontal sums (one transpose-and-add tree instead
// of sixteen reductions); each page's sum runs in the same order as quest_bound's, so the two agree
// exactly.
void quest_bounds(const float* q, int64_t num_queries, const KvCache& cache, int64_t layer, int64_t kv_head,
                  int64_t p0, int64_t p1, float* out);

// MoBA's block score max_i q_i · mean(block's keys) for complete blocks [b0, b1) of one layer and KV
// head, from the cache's per-page f32 key sums (pages_per_block pages a block; mean = Σ sums · inv_block),
// queries q[num_queries][head_dim]: out[b − b0]. `means` is scratch (resized to 16 × head_dim). With
// AVX-512 sixteen blocks share one transpose-and-add tree (as quest_bounds); the portable path is the
// plain definition. The two differ by f32 summation order only (tested against moba_block_score).
//
// Where 1/block is applied: kMeans scales each block's key sum to its mean before the dot products (any
// block size); kScores scales the final scores instead, and for one-page blocks reads the sums in place
// with no mean built. For a power-of-two block the two give the same bits: f32 scaling by a power of two
// commutes with every rounding below (products, fused adds, the tree, the max) as long as kMeans's values
// — the means, the products q·mean and the partial sums — are 0 or normal (|x| ≥ 2^-126) and kScores's
// unscaled ones do not overflow; keys and queries of a trained model are nowhere near either edge. So the
// default picks kScores there.
enum class MobaScaling { kMeans, kScores };
void moba_block_scores(const float* q, int64_t num_queries, const KvCache& cache, int64_t layer,
                       int64_t kv_head, int64_t pages_per_block, float inv_block, int64_t b0, int64_t b1,
                       std::vector<float>& means, float* out);
void moba_block_scores(const float* q, int64_t num_queries, const KvCache& cache, int64_t layer,
                       int64_t kv_head, int64_t pages_per_block, float inv_block, int64_t b0, int64_t b1,
                       std::vector<float>& means, float* out, MobaScaling scaling);
// The same for `rows` query rows at once (row r's queries at q + r · row_stride, its scores at
// out + r · out_stride): each row's scores are moba_block_scores' bits for that row; the blocks' sums are
// found (and means built) once per sixteen blocks for all the rows, which a prompt tile's rows share.
void moba_block_scores_rows(const float* q, int64_t row_stride, int64_t rows, int64_t num_queries,
                            const KvCache& cache, int64_t layer, int64_t kv_head, int64_t pages_per_block,
                            float inv_block, int64_t b0, int64_t b1, std::vector<float>& means, float* out,
                            int64_t out_stride, MobaScaling scaling);
// True when inv_block = 2^-k (a power-of-two block size), where MobaScaling::kScores is exact.
bool is_power_of_two_scale(float inv_block);
// The plain definition for one block: the reference of moba_block_scores.
float moba_block_score(const float* q, int64_t num_queries, const KvCache& cache, int64_t layer,
                       int64_t kv_head, int64_t pages_per_block, float inv_block, int64_t block);

// Uniform in [0, 1) from a hash of the arguments.
float seeded_uniform(uint64_t seed, int64_t layer, int64_t unit, int64_t position, int64_t index);

}  // namespace ratkv
