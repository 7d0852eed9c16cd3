#include "sparse/selection_util.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/cpu/simd.h"

namespace ratkv {

namespace {
// Float → unsigned key with the same order (negatives flipped, positives above them); NaNs sort at the
// ends instead of breaking a comparison sort.
inline uint32_t order_key(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

// How many of keys[0, n) are ≥ c.
inline int64_t count_at_least(const uint32_t* keys, int64_t n, uint32_t c) {
  int64_t count = 0;
  int64_t i = 0;
#if defined(__AVX512F__)
  const __m512i threshold = _mm512_set1_epi32(static_cast<int>(c));
  for (; i + 16 <= n; i += 16)
    count +=
        __builtin_popcount(_mm512_cmp_epu32_mask(_mm512_loadu_si512(keys + i), threshold, _MM_CMPINT_NLT));
#endif
  for (; i < n; ++i) count += keys[i] >= c;
  return count;
}
}  // namespace

void top_k(const float* scores, std::vector<int64_t>& candidates, int64_t k, std::vector<int64_t>& out) {
  out.clear();
  const int64_t n = static_cast<int64_t>(candidates.size());
  if (k <= 0) return;
  if (!std::is_sorted(candidates.begin(), candidates.end())) std::sort(candidates.begin(), candidates.end());
  if (k >= n) {
    out.assign(candidates.begin(), candidates.end());
    return;
  }
  // The k-th largest key, bit by bit from the top: the largest T with at least k keys ≥ T (branch-free
  // counting passes; a comparison-based nth_element mispredicts on every random score). It stops early once
  // exactly k keys are ≥ the threshold so far: those k are then the set, whatever the lower bits (about
  // log2 n + 2 passes for distinct scores instead of 32). Then one pass in index order keeps every key
  // above T and, of those equal to it, the lowest indices — the strict order "score descending, then index
  // ascending" that makes the set unique.
  thread_local std::vector<uint32_t> keys;
  keys.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    keys[static_cast<size_t>(i)] = order_key(scores[candidates[static_cast<size_t>(i)]]);
  uint32_t threshold = 0;
  bool exact = false;  // exactly k keys are ≥ threshold
  for (uint32_t bit = 0x80000000u; bit != 0 && !exact; bit >>= 1) {
    const int64_t count = count_at_least(keys.data(), n, threshold | bit);
    if (count >= k) {
      threshold |= bit;
      exact = count == k;
    }
  }
  int64_t ties =
      exact ? k : k - (threshold == 0xffffffffu ? 0 : count_at_least(keys.data(), n, threshold + 1));
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t key = keys[static_cast<size_t>(i)];
    if (key > threshold || (key == threshold && ties-- > 0))
      out.push_back(candidates[static_cast<size_t>(i)]);
  }
}

void select_units(int64_t n, int64_t first, int64_t local, int64_t k, const float* scores,
                  std::vector<int64_t>& candidates, std::vector<int64_t>& chosen) {
  const int64_t begin = middle_begin(n, first), end = middle_end(n, first, local);
  const int64_t forced = n - (end - begin);
  candidates.clear();
  for (int64_t u = begin; u < end; ++u) candidates.push_back(u);
  std::vector<int64_t>& picked = chosen;
  top_k(scores, candidates, std::max<int64_t>(0, k - forced), picked);
  // Merge the forced units (both ends) around the picked middle ones, keeping ascending order.
  const int64_t middle_count = static_cast<int64_t>(picked.size());
  picked.resize(static_cast<size_t>(middle_count + forced));
  std::move_backward(picked.begin(), picked.begin() + middle_count, picked.begin() + begin + middle_count);
  for (int64_t u = 0; u < begin; ++u) picked[static_cast<size_t>(u)] = u;
  for (int64_t u = end; u < n; ++u) picked[static_cast<size_t>(begin + middle_count + (u - end))] = u;
}

void spans_of_range(int64_t begin, int64_t end, int64_t page_size, std::vector<TokenSpan>& spans) {
  for (int64_t s = begin; s < end;) {
    const int64_t count = std::min(end - s, page_size - s % page_size);
    spans.push_back({s, count});
    s += count;
  }
}

void spans_of_units(const std::vector<int64_t>& units, int64_t unit_tokens, int64_t page_size, int64_t end,
                    std::vector<TokenSpan>& spans) {
  for (int64_t u : units)
    spans_of_range(u * unit_tokens, std::min(end, (u + 1) * unit_tokens), page_size, spans);
}

void spans_of_tokens(const int64_t* tokens, int64_t count, int64_t page_size, std::vector<TokenSpan>& spans) {
  for (int64_t i = 0; i < count;) {
    const int64_t start = tokens[i];
    int64_t run = 1;
    while (i + run < count && tokens[i + run] == start + run && (start + run) % page_size != 0) ++run;
    spans.push_back({start, run});
    i += run;
  }
}

#if defined(__AVX512F__)
namespace {
// Σ over the lanes of max(q·min, q·max) for one page, before the horizontal sum.
inline __m512 quest_lanes(const float* q, const uint8_t* min_max, DType dtype, int64_t dim) {
  const int64_t elem = static_cast<int64_t>(dtype_size(dtype));
  const uint8_t* max = min_max + dim * elem;
  __m512 acc = _mm512_setzero_ps();
  for (int64_t i = 0; i < dim; i += 16) {
    const __mmask16 mask = simd::lanes(dim - i);
    const __m512 qv = _mm512_maskz_loadu_ps(mask, q + i);
    const __m512 lo = _mm512_mul_ps(qv, simd::load_f32x16(min_max + i * elem, dtype, mask));
    const __m512 hi = _mm512_mul_ps(qv, simd::load_f32x16(max + i * elem, dtype, mask));
    acc = _mm512_add_ps(acc, _mm512_max_ps(lo, hi));
  }
  return acc;
}
}  // namespace
#endif

float quest_bound(const float* q, const uint8_t* min_max, DType dtype, int64_t dim) {
#if defined(__AVX512F__)
  // The tree of quest_bounds with one page in lane 0, so that both give the same bits.
  const __m512 zero = _mm512_setzero_ps();
  const __m512 c = simd::sum4_by_lane(quest_lanes(q, min_max, dtype, dim), zero, zero, zero);
  return _mm512_cvtss_f32(simd::sum16_from_lanes(c, zero, zero, zero));
#else
  const uint8_t* max = min_max + static_cast<size_t>(dim) * dtype_size(dtype);
  float sum = 0.0f;
  for (int64_t d = 0; d < dim; ++d) {
    const float a = q[d] * load_as_f32(min_max, static_cast<size_t>(d), dtype);
    const float b = q[d] * load_as_f32(max, static_cast<size_t>(d), dtype);
    sum += std::max(a, b);
  }
  return sum;
#endif
}

#if defined(__AVX512F__)
namespace {
// q·x rounded on its own: GCC lowers _mm512_mul_ps to a plain vector product, which -ffp-contract=fast
// (GNU C++'s default) may fuse with the add that consumes it; the rounding-mode form is never fused, so
// the sum adds the same rounded products as quest_bound's max(q·min, q·max).
inline __m512 mul_unfused(__m512 q, __m512 x) {
  return _mm512_mul_round_ps(q, x, _MM_FROUND_CUR_DIRECTION);
}

// 16 lanes of `hi` where take_max is set and of `lo` elsewhere (both in dtype), widened to f32.
inline __m512 load_selected_f32x16(const uint8_t* lo, const uint8_t* hi, DType dtype, __mmask16 take_max) {
  if (dtype == DType::F32)
    return _mm512_mask_loadu_ps(_mm512_loadu_ps(reinterpret_cast<const float*>(lo)), take_max,
                                reinterpret_cast<const float*>(hi));
  const __m256i picked =
      _mm256_mask_loadu_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(lo)), take_max, hi);
  return dtype == DType::BF16 ? _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(picked), 16))
                              : _mm512_cvtph_ps(picked);
}

// quest_bounds for head_dim = 16·kChunks and exactly kQueries queries, into out (max-combined with it
// when `combine`). Per lane the product kept is q_d·max_d where q_d ≥ 0 and q_d·min_d where q_d < 0 — the one
// max(q_d·min_d, q_d·max_d) picks, since rounding is monotone (for q_d ≥ 0, min_d ≤ max_d gives q_d·min_d ≤
// q_d·max_d after rounding; reversed for q_d < 0). Where the two products are equal they differ at most in
// the sign of a zero, and the lane sums, which start at +0, absorb either. So the bits equal quest_bound's
// for finite inputs: the same products, added in the same order, through the same tree.
template <int kChunks, int kQueries>
void quest_bounds_fixed(const float* q, const KvCache& cache, int64_t layer, int64_t kv_head, int64_t p0,
                        int64_t p1, float* out, bool combine) {
  constexpr int64_t dim = 16 * kChunks;
  const DType dtype = cache.shape().dtype;
  const int64_t elem = static_cast<int64_t>(dtype_size(dtype));
  __m512 qv[kQueries][kChunks];
  __mmask16 take_max[kQueries][kChunks];
  for (int i = 0; i < kQueries; ++i)
    for (int c = 0; c < kChunks; ++c) {
      qv[i][c] = _mm512_loadu_ps(q + i * dim + 16 * c);
      take_max[i][c] = _mm512_cmp_ps_mask(qv[i][c], _mm512_setzero_ps(), _CMP_GE_OQ);
    }
  for (int64_t p = p0; p < p1; p += 16) {
    const int64_t count = std::min<int64_t>(16, p1 - p);
    __m512 lane_sums[kQueries][4];
    for (int g = 0; g < 4; ++g) {
      __m512 a[kQueries][4];
      for (int k = 0; k < 4; ++k) {
        const int64_t page = 4 * g + k;
        if (page >= count) {
          for (int i = 0; i < kQueries; ++i) a[i][k] = _mm512_setzero_ps();
          continue;
        }
        const uint8_t* min = cache.key_min_max(layer, p + page, kv_head);
        const uint8_t* max = min + dim * elem;
        if constexpr (kQueries <= 2) {
          // Few queries: each picks its lanes from the stored rows and widens only those.
          for (int i = 0; i < kQueries; ++i) {
            __m512 acc = _mm512_setzero_ps();
            for (int c = 0; c < kChunks; ++c)
              acc = _mm512_add_ps(
                  acc, mul_unfused(qv[i][c], load_selected_f32x16(min + 16 * c * elem, max + 16 * c * elem,
                                                                  dtype, take_max[i][c])));
            a[i][k] = acc;
          }
        } else {
          // More: the rows are widened once and shared.
          __m512 lo[kChunks], hi[kChunks];
          for (int c = 0; c < kChunks; ++c) {
            lo[c] = simd::load_f32x16(min + 16 * c * elem, dtype);
            hi[c] = simd::load_f32x16(max + 16 * c * elem, dtype);
          }
          for (int i = 0; i < kQueries; ++i) {
            __m512 acc = _mm512_setzero_ps();
            for (int c = 0; c < kChunks; ++c)
              acc = _mm512_add_ps(acc,
                                  mul_unfused(qv[i][c], _mm512_mask_blend_ps(take_max[i][c], lo[c], hi[c])));
            a[i][k] = acc;
          }
        }
      }
      for (int i = 0; i < kQueries; ++i)
        lane_sums[i][g] = simd::sum4_by_lane(a[i][0], a[i][1], a[i][2], a[i][3]);
    }
    __m512 best = combine ? _mm512_maskz_loadu_ps(simd::lanes(count), out + (p - p0))
                          : _mm512_set1_ps(-std::numeric_limits<float>::infinity());
    for (int i = 0; i < kQueries; ++i)
      best = _mm512_max_ps(
          best, simd::sum16_from_lanes(lane_sums[i][0], lane_sums[i][1], lane_sums[i][2], lane_sums[i][3]));
    _mm512_mask_storeu_ps(out + (p - p0), simd::lanes(count), best);
  }
}

// The fixed-shape kernel over every query, four at a time, then two, then one (max is exact, so the
// split does not change the bits).
template <int kChunks>
void quest_bounds_by_chunks(const float* q, int64_t num_queries, const KvCache& cache, int64_t layer,
                            int64_t kv_head, int64_t p0, int64_t p1, float* out) {
  constexpr int64_t dim = 16 * kChunks;
  int64_t i = 0;
  for (; i + 4 <= num_queries; i += 4)
    quest_bounds_fixed<kChunks, 4>(q + i * dim, cache, layer, kv_head, p0, p1, out, i > 0);
  for (; i + 2 <= num_queries; i += 2)
    quest_bounds_fixed<kChunks, 2>(q + i * dim, cache, layer, kv_head, p0, p1, out, i > 0);
  for (; i < num_queries; ++i)
    quest_bounds_fixed<kChunks, 1>(q + i * dim, cache, layer, kv_head, p0, p1, out, i > 0);
}
}  // namespace
#endif

void quest_bounds(const float* q, int64_t num_queries, const KvCache& cache, int64_t layer, int64_t kv_head,
                  int64_t p0, int64_t p1, float* out) {
  const int64_t dim = cache.shape().head_dim;
  const DType dtype = cache.shape().dtype;
#if defined(__AVX512F__)
  if (num_queries > 0 && p1 > p0) {
    switch (dim) {
      case 64:
        return quest_bounds_by_chunks<4>(q, num_queries, cache, layer, kv_head, p0, p1, out);
      case 128:
        return quest_bounds_by_chunks<8>(q, num_queries, cache, layer, kv_head, p0, p1, out);
      default:
        break;
    }
  }
  for (int64_t p = p0; p < p1; p += 16) {
    const int64_t count = std::min<int64_t>(16, p1 - p);
    __m512 best = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
    for (int64_t i = 0; i < num_queries; ++i) {
      __m512 lane_sums[4];
      for (int64_t g = 0; g < 4; ++g) {
        __m512 a[4];
        for (int64_t k = 0; k < 4; ++k) {
          const int64_t page = 4 * g + k;
          a[k] = page < count
                     ? quest_lanes(q + i * dim, cache.key_min_max(layer, p + page, kv_head), dtype, dim)
                     : _mm512_setzero_ps();
        }
        lane_sums[g] = simd::sum4_by_lane(a[0], a[1], a[2], a[3]);
      }
      best =
          _mm512_max_ps(best, simd::sum16_from_lanes(lane_sums[0], lane_sums[1], lane_sums[2], lane_sums[3]));
    }
    _mm512_mask_storeu_ps(out + (p - p0), simd::lanes(count), best);
  }
#else
  for (int64_t p = p0; p < p1; ++p) {
    float best = -std::numeric_limits<float>::infinity();
    for (int64_t i = 0; i < num_queries; ++i)
      best = std::max(best, quest_bound(q + i * dim, cache.key_min_max(layer, p, kv_head), dtype, dim));
    out[p - p0] = best;
  }
#endif
}

namespace {
// The plain definition of one block's score, with the mean built in `mean` [head_dim].
float block_score_plain(const float* q, int64_t num_queries, const KvCache& cache, int64_t layer,
                        int64_t kv_head, int64_t pages_per_block, float inv_block, int64_t block,
                        float* mean) {
  const int64_t dim = cache.shape().head_dim;
  std::fill(mean, mean + dim, 0.0f);
  for (int64_t p = block * pages_per_block; p < (block + 1) * pages_per_block; ++p) {
    const float* sum = cache.key_sum(layer, p, kv_head);
    for (int64_t d = 0; d < dim; ++d) mean[d] += sum[d];
  }
  for (int64_t d = 0; d < dim; ++d) mean[d] *= inv_block;
  float best = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < num_queries; ++i) {
    float s = 0.0f;
    for (int64_t d = 0; d < dim; ++d) s += q[i * dim + d] * mean[d];
    best = std::max(best, s);
  }
  return best;
}
}  // namespace

float moba_block_score(const float* q, int64_t num_queries, const KvCache& cache, int64_t layer,
                       int64_t kv_head, int64_t pages_per_block, float inv_block, int64_t block) {
  std::vector<float> mean(static_cast<size_t>(cache.shape().head_dim));
  return block_score_plain(q, num_queries, cache, layer, kv_head, pages_per_block, inv_block, block,
                           mean.data());
}

bool is_power_of_two_scale(float inv_block) {
  int exponent = 0;
  return inv_block > 0.0f && std::frexp(inv_block, &exponent) == 0.5f;
}

void moba_block_scores(const float* q, int64_t num_queries, const KvCache& cache, int64_t layer,
                       int64_t kv_head, int64_t pages_per_block, float inv_block, int64_t b0, int64_t b1,
                       std::vector<float>& means, float* out) {
  moba_block_scores(q, num_queries, cache, layer, kv_head, pages_per_block, inv_block, b0, b1, means, out,
                    is_power_of_two_scale(inv_block) ? MobaScaling::kScores : MobaScaling::kMeans);
}

void moba_block_scores(const float* q, int64_t num_queries, const KvCache& cache, int64_t layer,
                       int64_t kv_head, int64_t pages_per_block, float inv_block, int64_t b0, int64_t b1,
                       std::vector<float>& means, float* out, MobaScaling scaling) {
  moba_block_scores_rows(q, 0, 1, num_queries, cache, layer, kv_head, pages_per_block, inv_block, b0, b1,
                         means, out, 0, scaling);
}

void moba_block_scores_rows(const float* q, int64_t row_stride, int64_t rows, int64_t num_queries,
                            const KvCache& cache, int64_t layer, int64_t kv_head, int64_t pages_per_block,
                            float inv_block, int64_t b0, int64_t b1, std::vector<float>& means, float* out,
                            int64_t out_stride, MobaScaling scaling) {
#if defined(__AVX512F__)
  const int64_t dim = cache.shape().head_dim;
  // 16 rows for the blocks' means, then one row of zeros standing for the blocks past the last.
  means.resize(static_cast<size_t>(17 * dim));
  std::fill(means.begin() + 16 * dim, means.end(), 0.0f);
  const float* const zeros = means.data() + 16 * dim;
  const bool scale_means = scaling == MobaScaling::kMeans;
  // One-page blocks scaled at the end need no mean at all: their rows are the cache's sums, read in place.
  const bool in_place = !scale_means && pages_per_block == 1;
  const __m512 scale = _mm512_set1_ps(inv_block);
  for (int64_t b = b0; b < b1; b += 16) {
    const int64_t count = std::min<int64_t>(16, b1 - b);
    // The next 16 blocks' sums are asked for now, so their misses overlap this batch's arithmetic.
    for (int64_t p = (b + 16) * pages_per_block; p < std::min(b + 32, b1) * pages_per_block; ++p) {
      const char* sum = reinterpret_cast<const char*>(cache.key_sum(layer, p, kv_head));
      for (int64_t at = 0; at < dim * 4; at += 64) __builtin_prefetch(sum + at, 0, 3);
    }
    // blocks[k]: block b + k's key sum (scaled to its mean with kMeans), summed page by page in order (as
    // moba_block_score); found once for all the rows.
    const float* blocks[16];
    std::fill(blocks + count, blocks + 16, zeros);
    for (int64_t k = 0; k < count; ++k) {
      if (in_place) {
        blocks[k] = cache.key_sum(layer, b + k, kv_head);
        continue;
      }
      float* mean = means.data() + k * dim;
      for (int64_t i = 0; i < dim; i += 16) {
        const __mmask16 mask = simd::lanes(dim - i);
        __m512 acc = _mm512_setzero_ps();
        for (int64_t p = (b + k) * pages_per_block; p < (b + k + 1) * pages_per_block; ++p)
          acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(mask, cache.key_sum(layer, p, kv_head) + i));
        _mm512_mask_storeu_ps(mean + i, mask, scale_means ? _mm512_mul_ps(acc, scale) : acc);
      }
      blocks[k] = mean;
    }
    for (int64_t r = 0; r < rows; ++r) {
      __m512 best = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
      for (int64_t qi = 0; qi < num_queries; ++qi) {
        const float* query = q + r * row_stride + qi * dim;
        __m512 lane_sums[4];
        for (int64_t g = 0; g < 4; ++g) {
          // Four blocks' dot products interleaved (four independent FMA chains, each block's own order:
          // dimensions ascending). Blocks past the last read zeros; their lanes are never stored.
          __m512 a[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
          for (int64_t i = 0; i < dim; i += 16) {
            const __mmask16 mask = simd::lanes(dim - i);
            const __m512 qv = _mm512_maskz_loadu_ps(mask, query + i);
#pragma GCC unroll 4
            for (int64_t j = 0; j < 4; ++j)
              a[j] = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(mask, blocks[4 * g + j] + i), a[j]);
          }
          lane_sums[g] = simd::sum4_by_lane(a[0], a[1], a[2], a[3]);
        }
        best = _mm512_max_ps(best,
                             simd::sum16_from_lanes(lane_sums[0], lane_sums[1], lane_sums[2], lane_sums[3]));
      }
      _mm512_mask_storeu_ps(out + r * out_stride + (b - b0), simd::lanes(count),
                            scale_means ? best : _mm512_mul_ps(best, scale));
    }
  }
#else
  (void)scaling;
  means.resize(static_cast<size_t>(cache.shape().head_dim));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t b = b0; b < b1; ++b)
      out[r * out_stride + b - b0] = block_score_plain(q + r * row_stride, num_queries, cache, layer, kv_head,
                                                       pages_per_block, inv_block, b, means.data());
#endif
}

namespace {
inline uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
}  // namespace

float seeded_uniform(uint64_t seed, int64_t layer, int64_t unit, int64_t position, int64_t index) {
  uint64_t h = mix64(seed);
  h = mix64(h ^ static_cast<uint64_t>(layer));
  h = mix64(h ^ static_cast<uint64_t>(unit));
  h = mix64(h ^ static_cast<uint64_t>(position));
  h = mix64(h ^ static_cast<uint64_t>(index));
  return static_cast<float>(h >> 40) * 0x1.0p-24f;
}

}  // namespace ratkv
