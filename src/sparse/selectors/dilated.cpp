// dilated (RAT+'s own sparse inference): S(t) = { j <= t : t - j <= W or j < P or (j + 1) mod D = 0 } —
// the chunk-end keys, which carry the memory, plus a local window and initial tokens. A fixed pattern
// (the budget is not used: it is D, W and P), applied at prefill and decode as in RAT+.
#include <algorithm>

#include "sparse/selection_util.h"
#include "sparse/selector.h"

namespace ratkv {

namespace {
class DilatedSelector final : public Selector {
 public:
  DilatedSelector(const SparseConfig& c, int64_t page_size)
      : initial_(c.initial_tokens),
        local_(std::max<int64_t>(0, c.local_tokens)),
        dilation_(c.dilation),
        page_size_(page_size) {}

  void select(const SelectRequest& r, SelectScratch&, std::vector<TokenSpan>& spans) const override {
    spans.clear();
    const int64_t t = r.position;
    const int64_t head_end = std::min(initial_, t + 1);          // [0, head_end): j < P
    const int64_t local_begin = std::max(head_end, t - local_);  // [local_begin, t]: t - j <= W
    spans_of_range(0, head_end, page_size_, spans);
    if (dilation_ == 1) {
      spans_of_range(head_end, local_begin, page_size_, spans);
    } else {
      // Between the two ranges only the dilated positions j = mD - 1, one span each.
      for (int64_t j = ((head_end + dilation_) / dilation_) * dilation_ - 1; j < local_begin; j += dilation_)
        spans.push_back({j, 1});
    }
    spans_of_range(local_begin, t + 1, page_size_, spans);
  }
  bool uses_budget() const override { return false; }
  bool at_prefill() const override { return true; }

 private:
  int64_t initial_, local_, dilation_, page_size_;
};
}  // namespace

std::unique_ptr<Selector> make_dilated_selector(const SparseConfig& c, const SelectorShape& s) {
  return std::make_unique<DilatedSelector>(c, s.page_size);
}

}  // namespace ratkv
