// The tiled prompt attention over per-query selections (attention/selected_prefill_attention.h) against
// brute force (one softmax per query over exactly its tokens, in double), on both of its paths — tiles for
// block selections, query by query for scattered ones —, and the sparse engine's prompt blocks against
// the same queries run one at a time.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <tuple>

#include "attention/prefill_attention.h"
#include "attention/selected_prefill_attention.h"
#include "base/rng.h"
#include "sparse/selection_util.h"
#include "sparse/sparse_attention.h"
#include "sparse_test_util.h"

namespace ratkv::testing {
namespace {

// Selections drawn from a seed per (query, unit): whole blocks of `block` tokens (each with probability
// `keep`, the query's own block always, causal inside it), or single scattered tokens when block == 1.
class RandomSelection final : public PrefillSelection {
 public:
  RandomSelection(int64_t position0, int64_t page, int64_t block, double keep, uint64_t seed)
      : position0_(position0), page_(page), block_(block), keep_(keep), seed_(seed) {}
  void select(int64_t i, int64_t unit, std::vector<TokenSpan>& spans) override {
    const int64_t position = position0_ + i;
    Rng rng(seed_ * 1000003 + static_cast<uint64_t>(position) * 131 + static_cast<uint64_t>(unit));
    for (int64_t b0 = 0; b0 <= position; b0 += block_) {
      const bool own = b0 + block_ > position;
      if (own || rng.uniform() < keep_) spans_of_range(b0, std::min(b0 + block_, position + 1), page_, spans);
    }
  }

 private:
  int64_t position0_, page_, block_;
  double keep_;
  uint64_t seed_;
};

// StreamingLLM's shape: `sinks` initial tokens and the `window` most recent ones.
class SinkAndWindow final : public PrefillSelection {
 public:
  SinkAndWindow(int64_t position0, int64_t page, int64_t sinks, int64_t window)
      : position0_(position0), page_(page), sinks_(sinks), window_(window) {}
  void select(int64_t i, int64_t, std::vector<TokenSpan>& spans) override {
    const int64_t visible = position0_ + i + 1, recent = std::max(sinks_, visible - window_);
    spans_of_range(0, std::min(sinks_, visible), page_, spans);
    if (recent < visible) spans_of_range(recent, visible, page_, spans);
  }

 private:
  int64_t position0_, page_, sinks_, window_;
};

// Everything visible: the dense causal prompt.
class AllVisible final : public PrefillSelection {
 public:
  AllVisible(int64_t position0, int64_t page) : position0_(position0), page_(page) {}
  void select(int64_t i, int64_t, std::vector<TokenSpan>& spans) override {
    spans_of_range(0, position0_ + i + 1, page_, spans);
  }

 private:
  int64_t position0_, page_;
};

// Brute force for query row (i, head h) over the tokens of its selection.
void expect_softmax_over(const RandomCache& rc, const std::vector<float>& q, const std::vector<float>& out,
                         int64_t i, int64_t h, int64_t heads, int64_t kv_head,
                         const std::set<int64_t>& tokens, float scale, double tolerance) {
  const int64_t dim = rc.shape.head_dim;
  const float* qh = q.data() + (i * heads + h) * dim;
  double mx = -1e300, total = 0;
  for (int64_t j : tokens) mx = std::max(mx, dot(qh, rc.key(0, kv_head, j), dim) * scale);
  std::vector<double> acc(static_cast<size_t>(dim), 0.0);
  for (int64_t j : tokens) {
    const double w = std::exp(dot(qh, rc.key(0, kv_head, j), dim) * scale - mx);
    total += w;
    for (int64_t d = 0; d < dim; ++d) acc[static_cast<size_t>(d)] += w * rc.value(0, kv_head, j)[d];
  }
  for (int64_t d = 0; d < dim; ++d)
    ASSERT_NEAR(out[static_cast<size_t>((i * heads + h) * dim + d)], acc[static_cast<size_t>(d)] / total,
                tolerance)
        << "query " << i << " head " << h << " dim " << d;
}

TEST(SelectedPrefill, TilesAndQueryByQueryEqualOneSoftmaxPerQuery) {
  for (DType dtype : {DType::F32, DType::BF16}) {
    for (int64_t page : {1, 16, 64}) {
      for (auto [heads, kv_heads, dim] :
           {std::tuple<int64_t, int64_t, int64_t>{3, 3, 12}, {6, 2, 64}, {4, 1, 40}}) {
        // A first block already cached (earlier), then the block under test: 203 queries (three full query
        // tiles and a partial one) over 150 + 203 keys, six key tiles of 64 and a partial one.
        const int64_t earlier = 150, n = 203, total = earlier + n;
        RandomCache rc(1, kv_heads, dim, page, total, dtype, 17 + static_cast<uint64_t>(page), 1.0f);
        const auto q = random_vector(static_cast<size_t>(n * heads * dim), 9, 1.5f);
        const float scale = 1.0f / std::sqrt(static_cast<float>(dim));
        const int64_t group = heads / kv_heads;
        // block 64: tiles; block 48: tiles not aligned to masks; block 1 with keep 0.02: scattered tokens,
        // query by query. Shared selections (per KV head) and per-query-head ones.
        for (auto [block, keep] : {std::pair<int64_t, double>{64, 0.3}, {48, 0.5}, {1, 0.02}}) {
          for (int64_t heads_per_unit : {group, int64_t{1}}) {
            RandomSelection selection(earlier, page, block, keep, 5);
            std::vector<float> out(q.size());
            SelectedPrefillCounts counts;
            selected_attention_tiled(q.data(), n, earlier, *rc.cache, 0, heads, heads_per_unit, scale,
                                     selection, out.data(), &counts);
            // Block selections run on the tiles, scattered tokens query by query.
            if (block == 1)
              EXPECT_EQ(counts.tiled_tasks, 0);
            else
              EXPECT_EQ(counts.query_tasks, 0);
            for (int64_t i : {int64_t{0}, int64_t{1}, int64_t{63}, int64_t{64}, int64_t{130}, n - 1}) {
              for (int64_t h = 0; h < heads; ++h) {
                const int64_t g = h / group;
                const int64_t unit = heads_per_unit == group ? g : h;
                std::vector<TokenSpan> spans;
                selection.select(i, unit, spans);
                expect_softmax_over(rc, q, out, i, h, heads, g, tokens_of(spans, page), scale, 2e-5);
              }
            }
          }
        }
      }
    }
  }
}

// With BF16 products (--matmul bf16) the tiles round q·scale and the softmax weights to bf16: against one
// softmax per query over the rounded queries, only the weights' rounding remains (at most 2^-9 of the largest
// value). Block selections (tiles, with masked and unmasked key tiles), MHA and GQA, shared and per-head
// selections, an odd head size.
TEST(SelectedPrefill, Bf16TilesEqualOneSoftmaxPerQueryOverRoundedQueries) {
  for (int64_t page : {16, 64}) {
    for (auto [heads, kv_heads, dim] : {std::tuple<int64_t, int64_t, int64_t>{3, 3, 13}, {6, 2, 64}}) {
      const int64_t earlier = 150, n = 203, total = earlier + n;
      RandomCache rc(1, kv_heads, dim, page, total, DType::BF16, 31 + static_cast<uint64_t>(page), 1.0f);
      const auto q = random_vector(static_cast<size_t>(n * heads * dim), 32, 1.5f);
      const float scale = 1.0f / std::sqrt(static_cast<float>(dim));
      std::vector<float> rounded(q.size());
      for (size_t i = 0; i < q.size(); ++i) rounded[i] = round_to_bf16(q[i] * scale);
      const int64_t group = heads / kv_heads;
      for (auto [block, keep] : {std::pair<int64_t, double>{64, 0.3}, {48, 0.5}}) {
        for (int64_t heads_per_unit : {group, int64_t{1}}) {
          RandomSelection selection(earlier, page, block, keep, 6);
          std::vector<float> out(q.size());
          SelectedPrefillCounts counts;
          selected_attention_tiled(q.data(), n, earlier, *rc.cache, 0, heads, heads_per_unit, scale,
                                   selection, out.data(), &counts, MatmulPrecision::BF16);
          EXPECT_EQ(counts.query_tasks, 0);
          for (int64_t i : {int64_t{0}, int64_t{63}, int64_t{64}, int64_t{130}, n - 1}) {
            for (int64_t h = 0; h < heads; ++h) {
              const int64_t g = h / group;
              std::vector<TokenSpan> spans;
              selection.select(i, heads_per_unit == group ? g : h, spans);
              expect_softmax_over(rc, rounded, out, i, h, heads, g, tokens_of(spans, page), 1.0f, 8e-3);
            }
          }
        }
      }
    }
  }
}

// Sinks and a sliding window (StreamingLLM's prompt) over a longer prompt, where the window spans several
// key tiles: tiles for most tasks, each row one softmax over its tokens.
TEST(SelectedPrefill, SinksAndWindowOnTheTiles) {
  const int64_t heads = 4, kv_heads = 2, dim = 64, n = 700, page = 16;
  RandomCache rc(1, kv_heads, dim, page, n, DType::BF16, 77, 1.0f);
  const auto q = random_vector(static_cast<size_t>(n * heads * dim), 78, 1.5f);
  SinkAndWindow selection(0, page, 4, 200);
  std::vector<float> out(q.size());
  SelectedPrefillCounts counts;
  selected_attention_tiled(q.data(), n, 0, *rc.cache, 0, heads, 2, 0.125f, selection, out.data(), &counts);
  EXPECT_GT(counts.tiled_tasks, counts.query_tasks);
  for (int64_t i : {int64_t{3}, int64_t{150}, int64_t{201}, int64_t{450}, n - 1})
    for (int64_t h = 0; h < heads; ++h) {
      std::vector<TokenSpan> spans;
      selection.select(i, h / 2, spans);
      expect_softmax_over(rc, q, out, i, h, heads, h / 2, tokens_of(spans, page), 0.125f, 2e-5);
    }
}

TEST(SelectedPrefill, EverythingSelectedIsTheDenseCausalPrompt) {
  for (int64_t page : {1, 16, 64}) {
    const int64_t heads = 6, kv_heads = 2, dim = 32, earlier = 70, n = 150;
    RandomCache rc(1, kv_heads, dim, page, earlier + n, DType::BF16, 3, 1.0f);
    const auto q = random_vector(static_cast<size_t>(n * heads * dim), 4, 1.5f);
    AllVisible all(earlier, page);
    std::vector<float> out(q.size()), dense(q.size());
    selected_attention_tiled(q.data(), n, earlier, *rc.cache, 0, heads, heads / kv_heads, 0.2f, all,
                             out.data());
    causal_attention_tiled(q.data(), n, earlier, *rc.cache, 0, heads, 0.2f, dense.data());
    for (size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(out[i], dense[i], 1e-6) << i;
  }
}

TEST(SelectedPrefill, ResultDoesNotDependOnTheThreadCount) {
  const int64_t heads = 4, kv_heads = 2, dim = 32, n = 300;
  RandomCache rc(1, kv_heads, dim, 16, n, DType::BF16, 12, 1.0f);
  const auto q = random_vector(static_cast<size_t>(n * heads * dim), 13, 1.5f);
  std::vector<std::vector<float>> outs;
  const int saved = omp_get_max_threads();
  for (int threads : {1, 2, 3}) {
    omp_set_num_threads(threads);
    RandomSelection selection(0, 16, 64, 0.4, 8);
    outs.emplace_back(q.size());
    selected_attention_tiled(q.data(), n, 0, *rc.cache, 0, heads, 2, 0.2f, selection, outs.back().data());
  }
  omp_set_num_threads(saved);
  EXPECT_EQ(outs[0], outs[1]);
  EXPECT_EQ(outs[0], outs[2]);
}

// The engine's prompt block under every method that selects at prefill equals each query run alone
// through the decode path (the selector's own selection, one softmax) up to f32 rounding.
TEST(SelectedPrefill, SparsePromptBlocksEqualTheirQueriesRunAlone) {
  for (SparseMethod m : {SparseMethod::Moba, SparseMethod::Streaming, SparseMethod::Dilated}) {
    for (int64_t page : {16, 64}) {
      for (bool per_query_head : {false, true}) {
        const int64_t heads = 6, kv_heads = 2, dim = 32, T = 331;
        RandomCache rc(1, kv_heads, dim, page, T, DType::BF16, 21, 1.0f);
        SparseConfig c = preset_config(SparsePreset::Seed, m);
        c.budget = SparseBudget::parse("1/4");
        c.per_query_head = per_query_head;
        if (m == SparseMethod::Moba) c.moba_block = page == 16 ? 32 : 64;
        const SelectorShape shape{1, heads, kv_heads, dim, page};
        SparseAttention prompt(c, shape);
        const auto q = random_vector(static_cast<size_t>(T * heads * dim), 22, 1.5f);
        std::vector<float> out(q.size()), one(static_cast<size_t>(heads * dim));
        const float scale = 1.0f / std::sqrt(static_cast<float>(dim));
        prompt.attention(0, q.data(), T, 0, *rc.cache, scale, out.data());
        SparseConfig single_config = c;
        single_config.moba_decode = true;
        SparseAttention single(single_config, shape);
        for (int64_t i : {int64_t{0}, int64_t{7}, int64_t{64}, int64_t{200}, T - 1}) {
          single.attention(0, q.data() + i * heads * dim, 1, i, *rc.cache, scale, one.data());
          for (int64_t d = 0; d < heads * dim; ++d)
            ASSERT_NEAR(out[static_cast<size_t>(i * heads * dim + d)], one[static_cast<size_t>(d)], 2e-6)
                << sparse_method_name(m) << " page " << page << " query " << i;
        }
      }
    }
  }
}

}  // namespace
}  // namespace ratkv::testing
