// streaming (StreamingLLM): P initial sink tokens plus the W most recent, { j <= t : j < P or t - j < W }.
// W = --local, or (default) budget - P so the pattern spends exactly the budget. Applies at prefill too:
// it is a fixed attention pattern, not a decode-time approximation.
#include <algorithm>

#include "sparse/selection_util.h"
#include "sparse/selector.h"

namespace ratkv {

namespace {
class StreamingSelector final : public Selector {
 public:
  StreamingSelector(const SparseConfig& c, int64_t page_size)
      : initial_(c.initial_tokens), local_(c.local_tokens), page_size_(page_size) {}

  void select(const SelectRequest& r, SelectScratch&, std::vector<TokenSpan>& spans) const override {
    spans.clear();
    const int64_t end = r.position + 1;
    const int64_t window = local_ >= 0 ? local_ : std::max<int64_t>(0, r.budget - initial_);
    const int64_t sink_end = std::min(initial_, end);
    const int64_t recent_begin = std::max(sink_end, end - window);
    spans_of_range(0, sink_end, page_size_, spans);
    spans_of_range(recent_begin, end, page_size_, spans);
  }
  bool uses_budget() const override { return local_ < 0; }
  bool at_prefill() const override { return true; }

 private:
  int64_t initial_, local_, page_size_;
};
}  // namespace

std::unique_ptr<Selector> make_streaming_selector(const SparseConfig& c, const SelectorShape& s) {
  return std::make_unique<StreamingSelector>(c, s.page_size);
}

}  // namespace ratkv
