// Each selector's chosen token set equals a brute-force implementation written from its definition
// (docs/sparse.md), on random caches with odd lengths, partial last pages, page sizes 1/16/64, MHA and GQA,
// one selection per KV head and per query head.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "sparse/selection_util.h"
#include "sparse/selector.h"
#include "sparse_test_util.h"

namespace ratkv::testing {
namespace {

struct Case {
  int64_t page, tokens, heads, kv_heads;
  bool per_head;
  DType dtype;
};

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  const Case& c = info.param;
  std::ostringstream name;
  name << "p" << c.page << "_t" << c.tokens << "_h" << c.heads << "kv" << c.kv_heads
       << (c.per_head ? "_perhead" : "_perkv") << "_" << dtype_name(c.dtype);
  return name.str();
}

class SelectorBruteForce : public ::testing::TestWithParam<Case> {
 protected:
  static constexpr int64_t kDim = 24;  // not a multiple of 16: exercises the masked SIMD tails

  void SetUp() override {
    const Case& c = GetParam();
    cache_ =
        std::make_unique<RandomCache>(1, c.kv_heads, kDim, c.page, c.tokens, c.dtype, 11 + c.tokens, 1.5f);
    queries_ = random_vector(c.heads * kDim, 5 + c.page);
    shape_ = SelectorShape{1, c.heads, c.kv_heads, kDim, c.page};
  }

  // Runs `selector` for every unit at position t and compares with brute(unit_queries, kv_head, t).
  template <class Brute>
  void check(const SparseConfig& config, int64_t t, int64_t budget, Brute brute) {
    const Case& c = GetParam();
    auto selector = make_selector(config, shape_);
    const int64_t group = c.heads / c.kv_heads;
    const int64_t units = config.per_query_head ? c.heads : c.kv_heads;
    SelectScratch scratch;
    std::vector<TokenSpan> spans;
    for (int64_t u = 0; u < units; ++u) {
      const int64_t kv = config.per_query_head ? u / group : u;
      const int64_t first_head = config.per_query_head ? u : u * group,
                    nq = config.per_query_head ? 1 : group;
      SelectRequest r{
          cache_->cache.get(), 0, kv, u, queries_.data() + first_head * kDim, nq, t, budget, 0.2f};
      selector->select(r, scratch, spans);
      std::vector<const float*> qs;
      for (int64_t i = 0; i < nq; ++i) qs.push_back(queries_.data() + (first_head + i) * kDim);
      EXPECT_EQ(tokens_of(spans, c.page), brute(qs, kv, u, t, budget))
          << sparse_method_name(config.method) << " t=" << t << " budget=" << budget << " unit=" << u;
    }
  }

  SparseConfig config(SparseMethod m) const {
    SparseConfig c = preset_config(SparsePreset::Seed, m);
    c.per_query_head = GetParam().per_head;
    return c;
  }

  // Units [0, n) chosen by forced first/local plus top of `score(u)` over the middle.
  static std::set<int64_t> brute_units(int64_t n, int64_t first, int64_t local, int64_t k,
                                       const std::function<double(int64_t)>& score) {
    std::set<int64_t> chosen;
    std::vector<int64_t> middle;
    std::vector<double> scores(static_cast<size_t>(n), 0.0);
    for (int64_t u = 0; u < n; ++u) {
      if (u < first || u >= n - local) {
        chosen.insert(u);
      } else {
        middle.push_back(u);
        scores[static_cast<size_t>(u)] = score(u);
      }
    }
    for (int64_t u : brute_top_k(scores, middle, k - static_cast<int64_t>(chosen.size()))) chosen.insert(u);
    return chosen;
  }

  static std::set<int64_t> expand(const std::set<int64_t>& units, int64_t unit_tokens, int64_t end) {
    std::set<int64_t> tokens;
    for (int64_t u : units)
      for (int64_t j = u * unit_tokens; j < std::min(end, (u + 1) * unit_tokens); ++j) tokens.insert(j);
    return tokens;
  }

  std::vector<int64_t> budgets(int64_t visible) const {
    const int64_t p = GetParam().page;
    std::vector<int64_t> b = {1, p, 3 * p, visible / 4, visible / 2, visible - 1};
    b.erase(std::remove_if(b.begin(), b.end(), [&](int64_t x) { return x < 1 || x >= visible; }), b.end());
    return b;
  }

  std::unique_ptr<RandomCache> cache_;
  std::vector<float> queries_;
  SelectorShape shape_;
};

TEST_P(SelectorBruteForce, QuestChoosesForcedPagesAndTopBounds) {
  const Case& c = GetParam();
  const int64_t t = c.tokens - 1, end = t + 1, n = (end + c.page - 1) / c.page;
  for (int64_t first : {0, 1}) {
    for (int64_t local : {0, 1, 2}) {
      SparseConfig cfg = config(SparseMethod::Quest);
      cfg.first_units = first;
      cfg.local_units = local;
      for (int64_t budget : budgets(end)) {
        check(cfg, t, budget,
              [&](const std::vector<const float*>& qs, int64_t kv, int64_t, int64_t, int64_t b) {
                auto bound = [&](int64_t page) {
                  double best = -1e300;
                  for (const float* q : qs) {
                    double s = 0;
                    for (int64_t d = 0; d < kDim; ++d) {
                      double lo = 1e300, hi = -1e300;
                      for (int64_t j = page * c.page; j < std::min(end, (page + 1) * c.page); ++j) {
                        lo = std::min<double>(lo, cache_->key(0, kv, j)[d]);
                        hi = std::max<double>(hi, cache_->key(0, kv, j)[d]);
                      }
                      s += std::max(q[d] * lo, q[d] * hi);
                    }
                    best = std::max(best, s);
                  }
                  return best;
                };
                return expand(brute_units(n, first, local, std::max<int64_t>(1, b / c.page), bound), c.page,
                              end);
              });
      }
    }
  }
}

TEST_P(SelectorBruteForce, MobaChoosesCurrentFirstAndTopMeansAtEveryPrefillPosition) {
  const Case& c = GetParam();
  for (int64_t block_pages : {1, 2}) {
    const int64_t block = block_pages * c.page;
    SparseConfig cfg = config(SparseMethod::Moba);
    cfg.moba_block = block;
    for (int64_t t = 0; t < c.tokens; t += std::max<int64_t>(1, c.tokens / 13)) {
      const int64_t end = t + 1, n = (end + block - 1) / block;
      for (int64_t budget : budgets(end)) {
        check(cfg, t, budget,
              [&](const std::vector<const float*>& qs, int64_t kv, int64_t, int64_t, int64_t b) {
                auto score = [&](int64_t blk) {
                  std::vector<double> mean(kDim, 0.0);
                  for (int64_t j = blk * block; j < (blk + 1) * block; ++j)
                    for (int64_t d = 0; d < kDim; ++d)
                      mean[static_cast<size_t>(d)] += cache_->key(0, kv, j)[d] / double(block);
                  double best = -1e300;
                  for (const float* q : qs) {
                    double s = 0;
                    for (int64_t d = 0; d < kDim; ++d) s += q[d] * mean[static_cast<size_t>(d)];
                    best = std::max(best, s);
                  }
                  return best;
                };
                return expand(brute_units(n, 1, 1, std::max<int64_t>(1, b / block), score), block, end);
              });
      }
    }
  }
}

TEST_P(SelectorBruteForce, OracleChoosesTheBestTrueScores) {
  const Case& c = GetParam();
  const int64_t t = c.tokens - 1, end = t + 1;
  auto true_score = [&](const std::vector<const float*>& qs, int64_t kv, int64_t j) {
    double best = -1e300;
    for (const float* q : qs) best = std::max(best, dot(q, cache_->key(0, kv, j), kDim));
    return best;
  };
  for (bool pages : {false, true}) {
    SparseConfig cfg = config(SparseMethod::Oracle);
    cfg.oracle_pages = pages;
    for (int64_t budget : budgets(end)) {
      check(cfg, t, budget,
            [&](const std::vector<const float*>& qs, int64_t kv, int64_t, int64_t, int64_t b) {
              if (!pages) {
                std::vector<double> s(static_cast<size_t>(end));
                std::vector<int64_t> all(static_cast<size_t>(end));
                for (int64_t j = 0; j < end; ++j) {
                  s[static_cast<size_t>(j)] = true_score(qs, kv, j);
                  all[static_cast<size_t>(j)] = j;
                }
                return brute_top_k(s, all, b);
              }
              const int64_t n = (end + c.page - 1) / c.page;
              auto score = [&](int64_t p) {
                double best = -1e300;
                for (int64_t j = p * c.page; j < std::min(end, (p + 1) * c.page); ++j)
                  best = std::max(best, true_score(qs, kv, j));
                return best;
              };
              return expand(brute_units(n, 1, 1, std::max<int64_t>(1, b / c.page), score), c.page, end);
            });
    }
  }
}

TEST_P(SelectorBruteForce, RandomDrawsKPagesWithForcedOnesFromTheSeed) {
  const Case& c = GetParam();
  const int64_t t = c.tokens - 1, end = t + 1, n = (end + c.page - 1) / c.page;
  SparseConfig cfg = config(SparseMethod::Random);
  cfg.random_seed = 42;
  for (int64_t budget : budgets(end)) {
    check(cfg, t, budget,
          [&](const std::vector<const float*>&, int64_t, int64_t unit, int64_t pos, int64_t b) {
            auto draw = [&](int64_t p) { return static_cast<double>(seeded_uniform(42, 0, unit, pos, p)); };
            const auto units = brute_units(n, 1, 1, std::max<int64_t>(1, b / c.page), draw);
            EXPECT_EQ(
                static_cast<int64_t>(units.size()),
                std::min(n, std::max<int64_t>(std::max<int64_t>(1, b / c.page), std::min<int64_t>(n, 2))));
            return expand(units, c.page, end);
          });
  }
}

TEST_P(SelectorBruteForce, StreamingKeepsSinksAndRecentTokens) {
  const Case& c = GetParam();
  for (int64_t t = 0; t < c.tokens; ++t) {
    for (int64_t local : {-1, 0, 5}) {
      SparseConfig cfg = config(SparseMethod::Streaming);
      cfg.local_tokens = local;
      const int64_t budget = 9;
      check(cfg, t, budget, [&](const std::vector<const float*>&, int64_t, int64_t, int64_t pos, int64_t b) {
        const int64_t w = local >= 0 ? local : b - cfg.initial_tokens;
        std::set<int64_t> s;
        for (int64_t j = 0; j <= pos; ++j)
          if (j < cfg.initial_tokens || pos - j < w) s.insert(j);
        return s;
      });
    }
  }
}

TEST_P(SelectorBruteForce, DilatedEqualsTheRatPlusSetAtEveryPosition) {
  const Case& c = GetParam();
  for (int64_t d : {1, 2, 7, 16}) {
    for (int64_t w : {0, 3, 20}) {
      for (int64_t p0 : {0, 4}) {
        SparseConfig cfg = config(SparseMethod::Dilated);
        cfg.dilation = d;
        cfg.local_tokens = w;
        cfg.initial_tokens = p0;
        for (int64_t t = 0; t < c.tokens; ++t) {
          check(cfg, t, 1, [&](const std::vector<const float*>&, int64_t, int64_t, int64_t pos, int64_t) {
            std::set<int64_t> s;  // S(t) = { j <= t : t - j <= W or j < P or (j + 1) mod D = 0 }
            for (int64_t j = 0; j <= pos; ++j)
              if (pos - j <= w || j < p0 || (j + 1) % d == 0) s.insert(j);
            return s;
          });
        }
      }
    }
  }
}

std::vector<Case> cases() {
  std::vector<Case> out;
  for (int64_t page : {1, 16, 64})
    for (int64_t tokens : {1, 17, 63, 65, 200, 333})
      for (auto [h, kv] : {std::pair<int64_t, int64_t>{4, 4}, {4, 2}})
        for (bool per_head : {false, true}) {
          if (per_head && h == kv) continue;  // identical to per KV head for MHA
          out.push_back({page, tokens, h, kv, per_head, tokens % 2 ? DType::BF16 : DType::F32});
        }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Sparse, SelectorBruteForce, ::testing::ValuesIn(cases()), case_name);

}  // namespace
}  // namespace ratkv::testing
