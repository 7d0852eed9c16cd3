#include <algorithm>

#include "sparse/selector.h"

namespace ratkv {

PromptVotes::Entry& PromptVotes::entry(int64_t prompt_end, int64_t window, bool per_query_head, int64_t layer,
                                       int64_t units) {
  const auto it = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) {
    return e.prompt_end == prompt_end && e.window == window && e.per_query_head == per_query_head &&
           e.layer == layer;
  });
  if (it != entries_.end()) return *it;
  Entry& e = entries_.emplace_back();
  e.prompt_end = prompt_end;
  e.window = window;
  e.per_query_head = per_query_head;
  e.layer = layer;
  e.units.resize(static_cast<size_t>(units));
  return e;
}

}  // namespace ratkv
