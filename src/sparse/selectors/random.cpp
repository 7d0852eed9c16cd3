// random: K = max(1, floor(budget / page_size)) pages, the forced first/local pages plus a uniform draw of
// the rest, from (seed, layer, unit, position): a fresh draw at every step (as Quest's H2 ablation).
#include <algorithm>

#include "sparse/selection_util.h"
#include "sparse/selector.h"

namespace ratkv {

namespace {
class RandomSelector final : public Selector {
 public:
  RandomSelector(const SparseConfig& c, const SelectorShape& s) : c_(c), shape_(s) {}

  void select(const SelectRequest& r, SelectScratch& scratch, std::vector<TokenSpan>& spans) const override {
    const int64_t page = shape_.page_size, end = r.position + 1, n = (end + page - 1) / page;
    auto& scores = scratch.scores;
    scores.resize(static_cast<size_t>(n));
    // Top-k of i.i.d. uniform scores is a uniform k-subset.
    for (int64_t p = 0; p < n; ++p)
      scores[static_cast<size_t>(p)] = seeded_uniform(c_.random_seed, r.layer, r.unit, r.position, p);
    select_units(n, c_.first_units, c_.local_units, std::max<int64_t>(1, r.budget / page), scores.data(),
                 scratch.indices, scratch.chosen);
    spans.clear();
    spans_of_units(scratch.chosen, page, page, end, spans);
  }

 private:
  SparseConfig c_;
  SelectorShape shape_;
};
}  // namespace

std::unique_ptr<Selector> make_random_selector(const SparseConfig& c, const SelectorShape& s) {
  return std::make_unique<RandomSelector>(c, s);
}

}  // namespace ratkv
