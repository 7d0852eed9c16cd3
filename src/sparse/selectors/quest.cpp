// quest (Tang et al. 2024): at decode, each page's keys are bounded by their element-wise min and max;
// the bound U_p = Σ_d max(q_d·min_d, q_d·max_d) ≥ q·k for every key of the page (f32, no 1/√d). The
// first `first_units` and the last `local_units` pages are forced; the best-bounded pages fill the rest
// of K = max(1, floor(budget / page_size)) pages. With a GQA group the page score is the max of the
// group's bounds (a page is kept if any head of the group may need it). --random-scores replaces every
// bound by a uniform draw redrawn at each step (the seed paper's H2 ablation).
#include <omp.h>

#include "sparse/selection_util.h"
#include "sparse/selector.h"

namespace ratkv {

namespace {
class QuestSelector final : public Selector {
 public:
  QuestSelector(const SparseConfig& c, const SelectorShape& s) : c_(c), shape_(s) {}

  void select(const SelectRequest& r, SelectScratch& scratch, std::vector<TokenSpan>& spans) const override {
    const KvCache& cache = *r.cache;
    const int64_t page = shape_.page_size;
    select_scored_units(
        r.position + 1, page, page, c_.first_units, c_.local_units, r.budget, scratch, spans,
        [&](int64_t begin, int64_t stop, float* scores) {
          if (c_.random_scores) {
            for (int64_t p = begin; p < stop; ++p)
              scores[p] = seeded_uniform(c_.random_seed, r.layer, r.unit, r.position, p);
            return;
          }
          const double start = omp_get_wtime();
          quest_bounds(r.queries, r.num_queries, cache, r.layer, r.kv_head, begin, stop, scores + begin);
          scratch.scan_seconds += omp_get_wtime() - start;
          scratch.metadata_bytes += static_cast<uint64_t>((stop - begin) * cache.min_max_bytes());
        });
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
