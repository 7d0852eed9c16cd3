// random: K = max(1, floor(budget / page_size)) pages, the forced first/local pages plus a uniform draw of
// the rest, from (seed, layer, unit, position): a fresh draw at every step (as Quest's H2 ablation).
#include "sparse/selection_util.h"
#include "sparse/selector.h"

namespace ratkv {

namespace {
class RandomSelector final : public Selector {
 public:
  RandomSelector(const SparseConfig& c, const SelectorShape& s) : c_(c), shape_(s) {}

  void select(const SelectRequest& r, SelectScratch& scratch, std::vector<TokenSpan>& spans) const override {
    const int64_t page = shape_.page_size;
    // Top-k of i.i.d. uniform scores is a uniform k-subset.
    select_scored_units(r.position + 1, page, page, c_.first_units, c_.local_units, r.budget, scratch, spans,
                        [&](int64_t begin, int64_t stop, float* scores) {
                          for (int64_t p = begin; p < stop; ++p)
                            scores[p] = seeded_uniform(c_.random_seed, r.layer, r.unit, r.position, p);
                        });
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
