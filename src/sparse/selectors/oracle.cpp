// oracle: the exact best tokens by true score q·k (max over a GQA group) — the budget's upper bound on
// captured attention mass. Token mode: the top `budget` tokens, nothing forced. Page mode
// (oracle_pages): pages scored by their best token, K = max(1, floor(budget / page_size)) pages with the
// first/local pages forced, i.e. Quest with a perfect bound.
#include <algorithm>
#include <limits>

#include "attention/attend.h"
#include "sparse/selection_util.h"
#include "sparse/selector.h"

namespace ratkv {

namespace {
class OracleSelector final : public Selector {
 public:
  OracleSelector(const SparseConfig& c, const SelectorShape& s) : c_(c), shape_(s) {}

  void select(const SelectRequest& r, SelectScratch& scratch, std::vector<TokenSpan>& spans) const override {
    const KvCache& cache = *r.cache;
    const int64_t dim = shape_.head_dim, page = shape_.page_size, end = r.position + 1;
    const DType dtype = cache.shape().dtype;
    const int64_t elem = static_cast<int64_t>(dtype_size(dtype));
    auto& scores = scratch.scores2;  // token scores (select_scored_units keeps page scores in scores)
    scores.resize(static_cast<size_t>(end));
    for (int64_t p0 = 0; p0 < end; p0 += page) {
      const uint8_t* keys = cache.keys(r.layer, p0, r.kv_head);
      for (int64_t j = p0; j < std::min(end, p0 + page); ++j) {
        float best = -std::numeric_limits<float>::infinity();
        for (int64_t i = 0; i < r.num_queries; ++i)
          best = std::max(best, dot_cached(r.queries + i * dim, keys + (j - p0) * dim * elem, dtype, dim));
        scores[static_cast<size_t>(j)] = best;
      }
    }
    spans.clear();
    if (!c_.oracle_pages) {
      auto& candidates = scratch.indices;
      candidates.resize(static_cast<size_t>(end));
      for (int64_t j = 0; j < end; ++j) candidates[static_cast<size_t>(j)] = j;
      top_k(scores.data(), candidates, r.budget, scratch.chosen);
      spans_of_tokens(scratch.chosen.data(), static_cast<int64_t>(scratch.chosen.size()), page, spans);
      return;
    }
    // Page mode: a page scores its best token.
    select_scored_units(end, page, page, c_.first_units, c_.local_units, r.budget, scratch, spans,
                        [&](int64_t begin, int64_t stop, float* page_scores) {
                          for (int64_t p = begin; p < stop; ++p)
                            page_scores[p] = *std::max_element(
                                scores.begin() + p * page, scores.begin() + std::min(end, (p + 1) * page));
                        });
  }

 private:
  SparseConfig c_;
  SelectorShape shape_;
};
}  // namespace

std::unique_ptr<Selector> make_oracle_selector(const SparseConfig& c, const SelectorShape& s) {
  return std::make_unique<OracleSelector>(c, s);
}

}  // namespace ratkv
