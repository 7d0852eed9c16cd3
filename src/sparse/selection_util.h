#pragma once
// Building blocks shared by the selectors: deterministic top-k, block (unit) selection with forced first
// and local units, spans from units or token lists, page scores read from the page metadata, and seeded
// uniform draws that depend only on (seed, layer, unit, position, index) — so they are the same whatever
// the thread count or the order of calls.
#include <cstdint>
#include <vector>

#include "attention/attend.h"
#include "cache/kv_cache.h"

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

// Quest's page bound Σ_d max(q_d·min_d, q_d·max_d) in f32; min_max = [2][dim] in dtype (KvCache layout).
float quest_bound(const float* q, const uint8_t* min_max, DType dtype, int64_t dim);

// Uniform in [0, 1) from a hash of the arguments.
float seeded_uniform(uint64_t seed, int64_t layer, int64_t unit, int64_t position, int64_t index);

}  // namespace ratkv
