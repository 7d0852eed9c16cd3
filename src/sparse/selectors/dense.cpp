// dense: every visible token. The reference point of every other selector and of the diagnostics.
#include "sparse/selection_util.h"
#include "sparse/selector.h"

namespace ratkv {

namespace {
class DenseSelector final : public Selector {
 public:
  explicit DenseSelector(int64_t page_size) : page_size_(page_size) {}
  void select(const SelectRequest& r, SelectScratch&, std::vector<TokenSpan>& spans) const override {
    spans.clear();
    spans_of_range(0, r.position + 1, page_size_, spans);
  }
  bool uses_budget() const override { return false; }

 private:
  int64_t page_size_;
};
}  // namespace

std::unique_ptr<Selector> make_dense_selector(const SparseConfig&, const SelectorShape& s) {
  return std::make_unique<DenseSelector>(s.page_size);
}

}  // namespace ratkv
