// The cache's page metadata, Quest's bound, SnapKV's kept set, and attention over a selection, each
// against brute force.
#include "sparse/sparse_attention.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

#include "attention/attend.h"
#include "base/error.h"
#include "base/rng.h"
#include "sparse/selection_util.h"
#include "sparse_test_util.h"

namespace ratkv::testing {
namespace {

TEST(SparseCache, PageMetadataIsMinMaxAndSumOfStoredKeys) {
  for (int64_t page : {1, 16, 64}) {
    for (DType dtype : {DType::BF16, DType::F16, DType::F32}) {
      const int64_t tokens = 131, dim = 20, heads = 3;
      RandomCache rc(2, heads, dim, page, tokens, dtype, 3);
      const KvCache& cache = *rc.cache;
      const PageTableView view = cache.page_table_view(1);
      ASSERT_EQ(view.offsets[1], (tokens + page - 1) / page);
      EXPECT_EQ(view.last_page_length, tokens - (view.offsets[1] - 1) * page);
      for (int64_t l = 0; l < 2; ++l)
        for (int64_t h = 0; h < heads; ++h)
          for (int64_t p = 0; p < view.offsets[1]; ++p) {
            const uint8_t* mm = cache.key_min_max(l, p, h);
            const float* sum = cache.key_sum(l, p, h);
            for (int64_t d = 0; d < dim; ++d) {
              float lo = INFINITY, hi = -INFINITY;
              float s = 0;  // f32, in token order: the cache's running sum, bit for bit
              for (int64_t j = p * page; j < std::min(tokens, (p + 1) * page); ++j) {
                lo = std::min(lo, rc.key(l, h, j)[d]);
                hi = std::max(hi, rc.key(l, h, j)[d]);
                s += rc.key(l, h, j)[d];
              }
              ASSERT_EQ(load_as_f32(mm, static_cast<size_t>(d), dtype), lo);
              ASSERT_EQ(load_as_f32(mm, static_cast<size_t>(dim + d), dtype), hi);
              ASSERT_EQ(sum[d], s);
            }
          }
    }
  }
}

// Metadata blocks hold 2^k pages sized from the shape (at least 2 MiB of min/max); a shape with nothing
// in it is refused instead of sizing blocks from zero bytes.
TEST(SparseCache, EmptyShapesAreRefused) {
  for (KvCacheShape shape : {KvCacheShape{1, 0, 8, 4, DType::BF16}, KvCacheShape{1, 2, 0, 4, DType::BF16},
                             KvCacheShape{0, 2, 8, 4, DType::BF16}, KvCacheShape{1, 2, 8, 0, DType::BF16}})
    EXPECT_THROW(KvCache{shape}, Error);
}

TEST(SparseCache, ClearedCacheRebuildsMetadata) {
  RandomCache rc(1, 1, 8, 4, 10, DType::F32, 1);
  KvCache& cache = *rc.cache;
  cache.clear();
  std::vector<float> k(8, -100.0f), v(8, 0.0f);
  cache.append(0, k.data(), v.data(), 1);
  EXPECT_EQ(load_as_f32(cache.key_min_max(0, 0, 0), 8, DType::F32), -100.0f);  // max of the one new key
  EXPECT_EQ(cache.key_sum(0, 0, 0)[0], -100.0f);
}

// The batched scan (sixteen pages per horizontal-sum tree, max over a GQA group) gives exactly the
// single-page bounds, bit for bit, for ranges that start and end off the batch boundaries, every dtype,
// odd dims and the head dims with a fixed-shape kernel (64, 128), group sizes that split into passes of
// 4, 2 and 1 queries, query lanes of +0 and −0 (where the sign-selected product and the max of the two
// products may differ in the sign of a zero), and a last page of one token (min = max).
TEST(SparseQuest, BatchedBoundsEqualSinglePageBounds) {
  for (DType dtype : {DType::BF16, DType::F16, DType::F32}) {
    for (int64_t dim : {8, 24, 64, 128}) {
      RandomCache rc(1, 2, dim, 4, 4 * 53 - 3, dtype, 5 + dim, 2.0f);
      for (int64_t queries : {1, 2, 3, 4, 5, 8}) {
        auto q = random_vector(queries * dim, 7 + dim + queries, 1.5f);
        for (int64_t i = 0; i < queries * dim; i += 5) q[static_cast<size_t>(i)] = i % 2 ? -0.0f : 0.0f;
        for (auto [p0, p1] : {std::pair<int64_t, int64_t>{0, 53}, {1, 52}, {3, 19}, {5, 5}, {17, 33}}) {
          std::vector<float> got(static_cast<size_t>(p1 - p0));
          quest_bounds(q.data(), queries, *rc.cache, 0, 1, p0, p1, got.data());
          for (int64_t p = p0; p < p1; ++p) {
            float expected = quest_bound(q.data(), rc.cache->key_min_max(0, p, 1), dtype, dim);
            for (int64_t i = 1; i < queries; ++i)
              expected = std::max(
                  expected, quest_bound(q.data() + i * dim, rc.cache->key_min_max(0, p, 1), dtype, dim));
            ASSERT_EQ(std::bit_cast<uint32_t>(got[static_cast<size_t>(p - p0)]),
                      std::bit_cast<uint32_t>(expected))
                << dtype_name(dtype) << " dim " << dim << " queries " << queries << " page " << p;
          }
        }
      }
    }
  }
}

// top_k keeps exactly the first k of the order (score descending, index ascending), in ascending index
// order — checked against a stable sort on scores drawn from a few values (many ties), candidates in any
// order, every k from 0 past n.
TEST(SparseSelection, TopKEqualsStableSortWithTies) {
  for (int64_t n : {1, 2, 7, 33, 510}) {
    Rng rng(static_cast<uint64_t>(n));
    std::vector<float> scores(static_cast<size_t>(n + 5));
    for (float& s : scores) s = static_cast<float>(static_cast<int>(rng.uniform() * 5.0)) - 2.0f;
    std::vector<int64_t> base;
    for (int64_t i = 0; i < n; ++i) base.push_back(5 + i);  // candidates 5..n+4, not starting at 0
    std::reverse(base.begin(), base.end());
    for (int64_t k : {int64_t{0}, int64_t{1}, n / 3, n - 1, n, n + 2}) {
      std::vector<int64_t> candidates = base, got;
      top_k(scores.data(), candidates, k, got);
      std::vector<int64_t> expected = base;
      std::sort(expected.begin(), expected.end());
      std::stable_sort(expected.begin(), expected.end(), [&](int64_t a, int64_t b) {
        return scores[static_cast<size_t>(a)] > scores[static_cast<size_t>(b)];
      });
      expected.resize(static_cast<size_t>(std::clamp<int64_t>(k, 0, n)));
      std::sort(expected.begin(), expected.end());
      EXPECT_EQ(got, expected) << "n " << n << " k " << k;
    }
  }
}

// MoBA's batched block scores (sixteen blocks per horizontal-sum tree, max over a GQA group) against the
// plain definition: equal up to f32 summation order, for odd dims, block ranges off the batch boundaries
// and one to four pages per block.
TEST(SparseMoba, BatchedBlockScoresEqualPlainDefinition) {
  for (int64_t dim : {8, 24, 64, 72, 128}) {
    for (int64_t pages_per_block : {1, 2, 4}) {
      const int64_t page = 4, blocks = 41;
      RandomCache rc(1, 2, dim, page, blocks * pages_per_block * page + 3, DType::BF16, 9 + dim, 2.0f);
      const auto q = random_vector(3 * dim, 11 + dim, 1.5f);
      const float inv = 1.0f / static_cast<float>(pages_per_block * page);
      std::vector<float> means;
      for (auto [b0, b1] : {std::pair<int64_t, int64_t>{0, 41}, {1, 40}, {3, 19}, {5, 5}, {17, 33}}) {
        for (int64_t queries : {1, 3}) {
          std::vector<float> got(static_cast<size_t>(b1 - b0));
          moba_block_scores(q.data(), queries, *rc.cache, 0, 1, pages_per_block, inv, b0, b1, means,
                            got.data());
          for (int64_t b = b0; b < b1; ++b) {
            const float expected =
                moba_block_score(q.data(), queries, *rc.cache, 0, 1, pages_per_block, inv, b);
            double magnitude = 0;  // Σ|q·mean| bounds the rounding of any summation order
            for (int64_t i = 0; i < queries; ++i)
              for (int64_t d = 0; d < dim; ++d) {
                double m = 0;
                for (int64_t p = b * pages_per_block; p < (b + 1) * pages_per_block; ++p)
                  m += rc.cache->key_sum(0, p, 1)[d];
                magnitude =
                    std::max(magnitude, 0.0) + std::fabs(q[static_cast<size_t>(i * dim + d)] * m * inv);
              }
            ASSERT_NEAR(got[static_cast<size_t>(b - b0)], expected, 1e-5 * magnitude + 1e-30)
                << "dim " << dim << " pages/block " << pages_per_block << " block " << b << " queries "
                << queries;
          }
        }
      }
    }
  }
}

// For power-of-two blocks the scores scaled at the end (one-page blocks read in place) carry the same bits
// as the ones built from scaled means; the default takes that path exactly when 1/block is a power of two.
// (Without AVX-512 both scalings run the plain definition, so there the test only checks the predicate.)
TEST(SparseMoba, ScalingTheScoresEqualsScalingTheMeansBitForBit) {
  EXPECT_TRUE(is_power_of_two_scale(1.0f / 64));
  EXPECT_TRUE(is_power_of_two_scale(1.0f));
  EXPECT_FALSE(is_power_of_two_scale(1.0f / 48));
  EXPECT_FALSE(is_power_of_two_scale(1.0f / 3));
  for (int64_t dim : {8, 24, 64, 72}) {
    for (int64_t page : {1, 4, 16}) {
      for (int64_t pages_per_block : {1, 2, 4}) {
        const int64_t blocks = 37;
        RandomCache rc(1, 2, dim, page, blocks * pages_per_block * page + 5, DType::BF16, 3 + dim + page,
                       3.0f);
        const auto q = random_vector(4 * dim, 5 + dim, 2.0f);
        const float inv = 1.0f / static_cast<float>(pages_per_block * page);
        ASSERT_TRUE(is_power_of_two_scale(inv));
        std::vector<float> means;
        for (int64_t queries : {1, 4}) {
          std::vector<float> by_means(blocks), by_scores(blocks), by_default(blocks);
          moba_block_scores(q.data(), queries, *rc.cache, 0, 1, pages_per_block, inv, 0, blocks, means,
                            by_means.data(), MobaScaling::kMeans);
          moba_block_scores(q.data(), queries, *rc.cache, 0, 1, pages_per_block, inv, 0, blocks, means,
                            by_scores.data(), MobaScaling::kScores);
          moba_block_scores(q.data(), queries, *rc.cache, 0, 1, pages_per_block, inv, 0, blocks, means,
                            by_default.data());
          ASSERT_EQ(0, std::memcmp(by_means.data(), by_scores.data(), sizeof(float) * blocks))
              << "dim " << dim << " page " << page << " pages/block " << pages_per_block << " queries "
              << queries;
          ASSERT_EQ(0, std::memcmp(by_means.data(), by_default.data(), sizeof(float) * blocks));
        }
      }
    }
  }
}

// A prompt tile's rows scored together give each row the bits it gets alone, for one- and multi-page
// blocks, power-of-two blocks (scores scaled) and others (means scaled), and several queries per row.
TEST(SparseMoba, BlockScoresOfManyRowsEqualEachRowAlone) {
  for (int64_t dim : {8, 24, 64}) {
    for (auto [page, pages_per_block] : {std::pair<int64_t, int64_t>{16, 1}, {4, 4}, {16, 3}}) {
      const int64_t blocks = 37, rows = 13, queries = 2;
      RandomCache rc(1, 2, dim, page, blocks * pages_per_block * page + 5, DType::BF16, 7 + dim + page, 3.0f);
      const auto q = random_vector(rows * queries * dim, 9 + dim, 2.0f);
      const float inv = 1.0f / static_cast<float>(pages_per_block * page);
      const MobaScaling scaling = is_power_of_two_scale(inv) ? MobaScaling::kScores : MobaScaling::kMeans;
      std::vector<float> means, together(rows * blocks, -1.0f), alone(rows * blocks, -1.0f);
      moba_block_scores_rows(q.data(), queries * dim, rows, queries, *rc.cache, 0, 1, pages_per_block, inv, 3,
                             blocks, means, together.data(), blocks, scaling);
      for (int64_t r = 0; r < rows; ++r)
        moba_block_scores(q.data() + r * queries * dim, queries, *rc.cache, 0, 1, pages_per_block, inv, 3,
                          blocks, means, alone.data() + r * blocks, scaling);
      ASSERT_EQ(0, std::memcmp(together.data(), alone.data(), sizeof(float) * together.size()))
          << "dim " << dim << " page " << page << " pages/block " << pages_per_block;
    }
  }
}

// prepare_rows (what the prompt kernel calls per tile) changes no selection: rows straddling block
// boundaries, forced first and local blocks, and select() for a row outside the prepared ones, or after
// the batch ended, computing afresh.
TEST(SparseMoba, PreparedTileRowsSelectAsEachRowAlone) {
  const int64_t dim = 16, page = 8, tokens = 700;
  RandomCache rc(1, 2, dim, page, tokens, DType::BF16, 31, 3.0f);
  SparseConfig c = preset_config(SparsePreset::Seed, SparseMethod::Moba);
  c.moba_block = 32;
  c.budget = SparseBudget::parse("1/2");  // 4-5 of the 11-13 competing blocks: the scores decide
  const SelectorShape shape{1, 2, 2, dim, page};
  auto selector = make_selector(c, shape);
  const int64_t first = 400, rows = 90;
  const auto q = random_vector(rows * 2 * dim, 33, 2.0f);
  SelectScratch prepared, plain;
  const RowsRequest batch{{rc.cache.get(), 0, 1, 1, q.data() + dim, 1, first, 0, 0.25f}, 2 * dim, rows};
  selector->prepare_rows(batch, prepared);
  ASSERT_EQ(prepared.prepared_rows, rows);
  std::vector<TokenSpan> a, b;
  int64_t used = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t position = first + r;
    const int64_t visible = position + 1;
    const SelectRequest request{
        rc.cache.get(), 0, 1, 1, q.data() + r * 2 * dim + dim, 1, position, c.budget.resolve(visible), 0.25f};
    const int64_t n = (visible + 31) / 32;
    used += prepared.prepared_scores(0, 1, position, middle_begin(n, 1), middle_end(n, 1, 1)) != nullptr;
    selector->select(request, prepared, a);
    selector->select(request, plain, b);
    ASSERT_EQ(a.size(), b.size()) << position;
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].start, b[i].start) << position;
      EXPECT_EQ(a[i].count, b[i].count) << position;
    }
  }
  EXPECT_EQ(used, rows);
  prepared.prepared_rows = 0;  // the batch's end
  EXPECT_EQ(prepared.prepared_scores(0, 1, first, middle_begin(7, 1), middle_end(7, 1, 1)), nullptr);
}

TEST(SparseQuest, BoundIsAtLeastEveryTrueScoreInItsPage) {
  for (int64_t page : {1, 16, 64}) {
    for (DType dtype : {DType::BF16, DType::F32}) {
      for (int64_t dim : {8, 24, 128}) {
        RandomCache rc(1, 2, dim, page, 257, dtype, 17 + dim, 2.0f);
        for (int trial = 0; trial < 20; ++trial) {
          const auto q = random_vector(dim, 100 + trial, trial % 2 ? 3.0f : 0.3f);
          for (int64_t h = 0; h < 2; ++h)
            for (int64_t p = 0; p * page < 257; ++p) {
              const float bound = quest_bound(q.data(), rc.cache->key_min_max(0, p, h), dtype, dim);
              for (int64_t j = p * page; j < std::min<int64_t>(257, (p + 1) * page); ++j) {
                const double s = dot(q.data(), rc.key(0, h, j), dim);
                double magnitude = 0;
                for (int64_t d = 0; d < dim; ++d) magnitude += std::fabs(q[d] * rc.key(0, h, j)[d]);
                ASSERT_GE(bound, s - 1e-5 * magnitude)
                    << "page " << p << " token " << j;  // f32 rounding only
              }
            }
        }
      }
    }
  }
}

// Brute-force SnapKV kept set for one unit from the definition.
std::set<int64_t> brute_snapkv(const RandomCache& rc, const std::vector<float>& q, int64_t n_rows,
                               int64_t heads, int64_t dim, const std::vector<int64_t>& unit_heads, int64_t kv,
                               int64_t L, int64_t C, const SparseConfig& c, float scale) {
  const int64_t W = c.snap_window, prefix = L - W;
  std::vector<double> votes(static_cast<size_t>(prefix), 0.0);
  for (int64_t pos = L - W; pos < L; ++pos)
    for (int64_t h : unit_heads) {
      const float* qr = q.data() + ((pos - (L - n_rows)) * heads + h) * dim;
      std::vector<double> a(static_cast<size_t>(pos + 1));
      double mx = -1e300, total = 0;
      for (int64_t j = 0; j <= pos; ++j)
        mx = std::max(mx, a[static_cast<size_t>(j)] = dot(qr, rc.key(0, kv, j), dim) * scale);
      for (auto& x : a) total += (x = std::exp(x - mx));
      for (int64_t j = 0; j < prefix; ++j) votes[static_cast<size_t>(j)] += a[static_cast<size_t>(j)] / total;
    }
  std::vector<double> pooled(votes.size());
  const int64_t half = c.snap_kernel / 2;
  for (int64_t j = 0; j < prefix; ++j) {
    double acc = c.snap_pool == SnapPool::Max ? -1e300 : 0.0;
    for (int64_t i = j - half; i <= j + half; ++i) {
      if (i < 0 || i >= prefix) continue;
      acc = c.snap_pool == SnapPool::Max ? std::max(acc, votes[static_cast<size_t>(i)])
                                         : acc + votes[static_cast<size_t>(i)];
    }
    pooled[static_cast<size_t>(j)] =
        c.snap_pool == SnapPool::Max ? acc : acc / static_cast<double>(c.snap_kernel);
  }
  std::vector<int64_t> all(static_cast<size_t>(prefix));
  for (int64_t j = 0; j < prefix; ++j) all[static_cast<size_t>(j)] = j;
  auto kept = brute_top_k(pooled, all, C - W);
  for (int64_t j = prefix; j < L; ++j) kept.insert(j);
  return kept;
}

TEST(SparseSnapKV, KeepsExactlyCTokensPerUnitMatchingBruteForce) {
  const int64_t dim = 16, L = 203;
  for (int64_t page : {1, 16, 64}) {
    for (auto [heads, kv_heads] : {std::pair<int64_t, int64_t>{4, 4}, {4, 2}}) {
      for (bool per_head : {false, true}) {
        for (SnapPool pool : {SnapPool::Max, SnapPool::Avg}) {
          RandomCache rc(1, kv_heads, dim, page, L, DType::BF16, 23 + page, 1.0f);
          SparseConfig c = preset_config(SparsePreset::Seed, SparseMethod::SnapKV);
          c.per_query_head = per_head;
          c.snap_window = 13;
          c.snap_kernel = 5;
          c.snap_pool = pool;
          c.budget.tokens = 61;
          const SelectorShape shape{1, heads, kv_heads, dim, page};
          auto selector = make_selector(c, shape);
          const int64_t rows = 40;  // the last forward block: rows at positions L - rows .. L - 1
          const auto q = random_vector(rows * heads * dim, 9, 2.0f);
          const float scale = 0.25f;
          selector->observe_prompt(PromptView{rc.cache.get(), 0, q.data(), rows, L - rows, heads, scale});
          const int64_t group = heads / kv_heads;
          const int64_t units = per_head ? heads : kv_heads;
          SelectScratch scratch;
          std::vector<TokenSpan> spans;
          for (int64_t u = 0; u < units; ++u) {
            const int64_t kv = per_head ? u / group : u;
            std::vector<int64_t> unit_heads;
            for (int64_t h = per_head ? u : u * group; h < (per_head ? u + 1 : (u + 1) * group); ++h)
              unit_heads.push_back(h);
            // At the end of the prompt: exactly C tokens.
            selector->select(SelectRequest{rc.cache.get(), 0, kv, u, nullptr, 1, L - 1, 0, scale}, scratch,
                             spans);
            const auto kept = tokens_of(spans, page);
            EXPECT_EQ(static_cast<int64_t>(kept.size()), c.budget.tokens);
            EXPECT_EQ(kept,
                      brute_snapkv(rc, q, rows, heads, dim, unit_heads, kv, L, c.budget.tokens, c, scale));
            // Later decode steps add every new token.
            selector->select(SelectRequest{rc.cache.get(), 0, kv, u, nullptr, 1, L + 4, 0, scale}, scratch,
                             spans);
            auto later = tokens_of(spans, page);
            EXPECT_EQ(static_cast<int64_t>(later.size()), c.budget.tokens + 5);
            for (int64_t j = L; j <= L + 4; ++j) EXPECT_TRUE(later.count(j));
          }
        }
      }
    }
  }
}

// Decode over SnapKV's kept tokens, read from its compacted copy when each unit is a KV head (and in place
// otherwise), equals one softmax over exactly the tokens select() reports (brute force in double).
TEST(SparseSnapKV, DecodeOverTheKeptTokensIsOneSoftmaxOverThem) {
  const int64_t dim = 32, L = 203, later = 6;
  for (DType dtype : {DType::BF16, DType::F32}) {
    for (int64_t page : {1, 16, 64}) {
      for (auto [heads, kv_heads] : {std::pair<int64_t, int64_t>{4, 4}, {6, 2}}) {
        for (bool per_head : {false, true}) {
          // The prompt's L tokens and `later` decoded ones (the cache holds them all; decode at position t
          // sees [0, t]).
          RandomCache rc(1, kv_heads, dim, page, L + later, dtype, 40 + page, 1.0f);
          SparseConfig c = preset_config(SparsePreset::Seed, SparseMethod::SnapKV);
          c.per_query_head = per_head;
          c.snap_window = 11;
          c.budget.tokens = 57;
          const SelectorShape shape{1, heads, kv_heads, dim, page};
          SparseAttention sa(c, shape);
          const int64_t rows = 30;
          const auto q = random_vector(static_cast<size_t>(rows * heads * dim), 5, 2.0f);
          const float scale = 1.0f / std::sqrt(static_cast<float>(dim));
          sa.observe_prompt(0, q.data(), rows, L - rows, *rc.cache, scale);
          const bool compacted = !per_head || heads == kv_heads;
          ASSERT_EQ(sa.selector().compacted(0).cache != nullptr, compacted);
          if (compacted) {
            ASSERT_EQ(sa.selector().compacted(0).kept, c.budget.tokens);
          }
          const int64_t group = heads / kv_heads, units = per_head ? heads : kv_heads;
          for (int64_t t : {L, L + 3, L + later - 1}) {
            const auto qd = random_vector(static_cast<size_t>(heads * dim), 100 + t, 1.5f);
            std::vector<float> out(qd.size());
            sa.attention(0, qd.data(), 1, t, *rc.cache, scale, out.data());
            SelectScratch scratch;
            std::vector<TokenSpan> spans;
            for (int64_t h = 0; h < heads; ++h) {
              const int64_t kv = h / group, u = per_head ? h : kv;
              ASSERT_LT(u, units);
              sa.selector().select(SelectRequest{rc.cache.get(), 0, kv, u, nullptr, 1, t, 0, scale}, scratch,
                                   spans);
              const auto sel = tokens_of(spans, page);
              ASSERT_EQ(static_cast<int64_t>(sel.size()), c.budget.tokens + (t - L + 1));
              double mx = -1e300, total = 0;
              std::vector<double> acc(static_cast<size_t>(dim), 0.0);
              for (int64_t j : sel)
                mx = std::max(mx, dot(qd.data() + h * dim, rc.key(0, kv, j), dim) * scale);
              for (int64_t j : sel) {
                const double w = std::exp(dot(qd.data() + h * dim, rc.key(0, kv, j), dim) * scale - mx);
                total += w;
                for (int64_t d = 0; d < dim; ++d) acc[static_cast<size_t>(d)] += w * rc.value(0, kv, j)[d];
              }
              for (int64_t d = 0; d < dim; ++d)
                ASSERT_NEAR(out[static_cast<size_t>(h * dim + d)], acc[static_cast<size_t>(d)] / total, 1e-5)
                    << "page " << page << " heads " << heads << "/" << kv_heads << " per_head " << per_head
                    << " t " << t << " h " << h;
            }
          }
          // A new sequence forgets the copy.
          sa.reset();
          EXPECT_EQ(sa.selector().compacted(0).cache, nullptr);
        }
      }
    }
  }
}

TEST(SparseSnapKV, ShortPromptKeepsEverythingAndWindowMustFitTheBudget) {
  RandomCache rc(1, 1, 8, 16, 50, DType::F32, 2);
  SparseConfig c = preset_config(SparsePreset::Seed, SparseMethod::SnapKV);
  c.budget.tokens = 64;
  auto selector = make_selector(c, SelectorShape{1, 1, 1, 8, 16});
  const auto q = random_vector(50 * 8, 1);
  selector->observe_prompt(PromptView{rc.cache.get(), 0, q.data(), 50, 0, 1, 0.3f});
  SelectScratch scratch;
  std::vector<TokenSpan> spans;
  selector->select(SelectRequest{rc.cache.get(), 0, 0, 0, nullptr, 1, 49, 0, 0.3f}, scratch, spans);
  EXPECT_EQ(tokens_of(spans, 16).size(), 50u);
  c.budget = SparseBudget::parse("1/2");  // C = 25 <= W = 64 at the prompt's end
  auto bad = make_selector(c, SelectorShape{1, 1, 1, 8, 16});
  EXPECT_THROW(bad->observe_prompt(PromptView{rc.cache.get(), 0, q.data(), 50, 0, 1, 0.3f}), Error);
}

// SparseAttention over a selection equals one softmax over exactly the selected tokens (brute force in
// double), and a budget covering the context gives the dense kernel's output.
TEST(SparseAttentionTest, SelectedAttentionIsOneSoftmaxOverTheSelection) {
  const int64_t dim = 24;
  for (int64_t page : {1, 16, 64}) {
    for (auto [heads, kv_heads] : {std::pair<int64_t, int64_t>{4, 4}, {6, 2}}) {
      for (SparseMethod m :
           {SparseMethod::Quest, SparseMethod::Oracle, SparseMethod::Moba, SparseMethod::Random}) {
        const int64_t T = 157;
        RandomCache rc(2, kv_heads, dim, page, T, DType::BF16, 31, 1.0f);
        SparseConfig c = preset_config(SparsePreset::Seed, m);
        c.moba_decode = true;
        c.budget.tokens = 3 * page + 5;
        const SelectorShape shape{2, heads, kv_heads, dim, page};
        SparseAttention sa(c, shape);
        const auto q = random_vector(heads * dim, 77, 1.5f);
        std::vector<float> out(static_cast<size_t>(heads * dim)), dense(out.size());
        const float scale = 1.0f / std::sqrt(static_cast<float>(dim));
        sa.attention(1, q.data(), 1, T - 1, *rc.cache, scale, out.data());
        // Recover each KV head's selection through the selector itself and check the softmax.
        auto selector = make_selector(c, shape);
        SelectScratch scratch;
        std::vector<TokenSpan> spans;
        const int64_t group = heads / kv_heads;
        for (int64_t g = 0; g < kv_heads; ++g) {
          selector->select(SelectRequest{rc.cache.get(), 1, g, g, q.data() + g * group * dim, group, T - 1,
                                         c.budget.resolve(T), scale},
                           scratch, spans);
          const auto sel = tokens_of(spans, page);
          EXPECT_LE(static_cast<int64_t>(sel.size()), std::max(c.budget.tokens, 2 * page));
          for (int64_t h = g * group; h < (g + 1) * group; ++h) {
            double mx = -1e300, total = 0;
            std::vector<double> acc(dim, 0.0);
            for (int64_t j : sel) mx = std::max(mx, dot(q.data() + h * dim, rc.key(1, g, j), dim) * scale);
            for (int64_t j : sel) {
              const double w = std::exp(dot(q.data() + h * dim, rc.key(1, g, j), dim) * scale - mx);
              total += w;
              for (int64_t d = 0; d < dim; ++d) acc[static_cast<size_t>(d)] += w * rc.value(1, g, j)[d];
            }
            for (int64_t d = 0; d < dim; ++d)
              EXPECT_NEAR(out[static_cast<size_t>(h * dim + d)], acc[static_cast<size_t>(d)] / total, 1e-5);
          }
        }
        // Budget >= context: the dense output.
        SparseConfig full = c;
        full.budget.tokens = T;
        SparseAttention dense_sa(full, shape);
        dense_sa.attention(1, q.data(), 1, T - 1, *rc.cache, scale, out.data());
        causal_attention(q.data(), 1, T - 1, *rc.cache, 1, heads, scale, dense.data());
        for (size_t i = 0; i < out.size(); ++i) EXPECT_NEAR(out[i], dense[i], 1e-6);
      }
    }
  }
}

TEST(SparseAttentionTest, MobaPrefillMatchesPerQuerySelectionAndCountsBytes) {
  const int64_t dim = 16, heads = 2, T = 100, page = 16;
  RandomCache rc(1, heads, dim, page, T, DType::F32, 8, 1.0f);
  SparseConfig c = preset_config(SparsePreset::Seed, SparseMethod::Moba);
  c.budget.tokens = 32;
  const SelectorShape shape{1, heads, heads, dim, page};
  SparseAttention sa(c, shape);
  const auto q = random_vector(T * heads * dim, 3);
  std::vector<float> out(q.size()), one(static_cast<size_t>(heads * dim));
  sa.attention(0, q.data(), T, 0, *rc.cache, 0.25f, out.data());
  // Each prompt row equals the same query run alone (decode mode) at its position.
  c.moba_decode = true;
  SparseAttention single(c, shape);
  for (int64_t i : {0, 15, 16, 47, 99}) {
    single.attention(0, q.data() + i * heads * dim, 1, i, *rc.cache, 0.25f, one.data());
    for (int64_t d = 0; d < heads * dim; ++d)
      EXPECT_EQ(out[static_cast<size_t>(i * heads * dim + d)], one[static_cast<size_t>(d)]);
  }
  EXPECT_EQ(single.counters().decode_steps, 5);
  EXPECT_GT(single.counters().metadata_bytes, 0.0);
}

TEST(SparseBudgetTest, ParsesAndResolves) {
  EXPECT_EQ(SparseBudget::parse("256").resolve(4096), 256);
  EXPECT_EQ(SparseBudget::parse("1/16").resolve(4096), 256);
  EXPECT_EQ(SparseBudget::parse("1/16").resolve(10), 1);
  EXPECT_EQ(SparseBudget::parse("1/1").resolve(77), 77);
  for (const char* bad : {"0", "-3", "1/0", "2/1", "0/4", "x", "1/", "/2", "1.5"})
    EXPECT_THROW(SparseBudget::parse(bad), Error) << bad;
}

TEST(SparseConfigTest, RejectsOutOfRangeValues) {
  SparseConfig c = preset_config(SparsePreset::Seed, SparseMethod::SnapKV);
  c.budget.tokens = 64;
  EXPECT_THROW(validate_sparse_config(c, 16, 4), Error);  // window 64 not below C 64
  c.budget.tokens = 65;
  EXPECT_NO_THROW(validate_sparse_config(c, 16, 4));
  c.snap_kernel = 4;
  EXPECT_THROW(validate_sparse_config(c, 16, 4), Error);
  EXPECT_THROW(validate_sparse_config(preset_config(SparsePreset::Seed, SparseMethod::Quest), 0, 4), Error);
  SparseConfig moba = preset_config(SparsePreset::Seed, SparseMethod::Moba);
  moba.moba_block = 24;
  EXPECT_THROW(validate_sparse_config(moba, 16, 4), Error);
  SparseConfig quest = preset_config(SparsePreset::Original, SparseMethod::Quest);
  EXPECT_THROW(validate_sparse_config(quest, 16, 1), Error);  // dense layer 1 of a 1-layer model
  EXPECT_NO_THROW(validate_sparse_config(quest, 16, 2));
  SparseConfig oracle = preset_config(SparsePreset::Seed, SparseMethod::Oracle);
  oracle.random_scores = true;
  EXPECT_THROW(validate_sparse_config(oracle, 16, 2), Error);
}

}  // namespace
}  // namespace ratkv::testing
