// quest (Tang et al. 2024): at decode, each page's keys are bounded by their element-wise min and max;
// the bound U_p = Σ_d max(q_d·min_d, q_d·max_d) ≥ q·k for every key of the page (f32, no 1/√d). The
// first `first_units` and the last `local_units` pages are forced; the best-bounded pages fill the rest
// of K = max(1, floor(budget / page_size)) pages. With a GQA group the page score is the max of the
// group's bounds (a page is kept if any head of the group may need it). --random-scores replaces every
// bound by a uniform draw redrawn at each step (the seed paper's H2 ablation).
#include <algorithm>

#include "sparse/selection_util.h"
#include "sparse/selector.h"

namespace ratkv {

namespace {
class QuestSelector final : public Selector {
 public:
  QuestSelector(const SparseConfig& c, const SelectorShape& s) : c_(c), shape_(s) {}

  void select(const SelectRequest& r, SelectScratch& scratch, std::vector<TokenSpan>& spans) const override {
    const KvCache& cache = *r.cache;
    const int64_t page = shape_.page_size, dim = shape_.head_dim;
    const int64_t end = r.position + 1, n = (end + page - 1) / page;
    const int64_t k = std::max<int64_t>(1, r.budget / page);
    const int64_t begin = middle_begin(n, c_.first_units),
                  stop = middle_end(n, c_.first_units, c_.local_units);
    auto& scores = scratch.scores;
    scores.resize(static_cast<size_t>(n));
    const DType dtype = cache.shape().dtype;
    for (int64_t p = begin; p < stop; ++p) {
      float best;
      if (c_.random_scores) {
        best = seeded_uniform(c_.random_seed, r.layer, r.unit, r.position, p);
      } else {
        const uint8_t* meta = cache.key_min_max(r.layer, p, r.kv_head);
        best = quest_bound(r.queries, meta, dtype, dim);
        for (int64_t i = 1; i < r.num_queries; ++i)
          best = std::max(best, quest_bound(r.queries + i * dim, meta, dtype, dim));
      }
      scores[static_cast<size_t>(p)] = best;
    }
    if (!c_.random_scores)
      scratch.metadata_bytes += static_cast<uint64_t>((stop - begin) * cache.min_max_bytes());
    select_units(n, c_.first_units, c_.local_units, k, scores.data(), scratch.indices, scratch.chosen);
    spans.clear();
    spans_of_units(scratch.chosen, page, page, end, spans);
  }

 private:
  SparseConfig c_;
  SelectorShape shape_;
};
}  // namespace

std::unique_ptr<Selector> make_quest_selector(const SparseConfig& c, const SelectorShape& s) {
  return std::make_unique<QuestSelector>(c, s);
}

}  // namespace ratkv
