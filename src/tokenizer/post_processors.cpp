#include "tokenizer/post_processors.h"

namespace ratkv {

void TemplatePostProcessor::process(std::vector<int32_t>& ids, bool add_special) const {
  if (!add_special || (before_.empty() && after_.empty())) return;
  ids.insert(ids.begin(), before_.begin(), before_.end());
  ids.insert(ids.end(), after_.begin(), after_.end());
}

void SequencePostProcessor::process(std::vector<int32_t>& ids, bool add_special) const {
  for (const auto& step : steps_) step->process(ids, add_special);
}

std::vector<int32_t> SequencePostProcessor::ids_before_sequence() const {
  // Later steps wrap the output of earlier ones, so their prefixes come first.
  std::vector<int32_t> out;
  for (auto it = steps_.rbegin(); it != steps_.rend(); ++it) {
    std::vector<int32_t> ids = (*it)->ids_before_sequence();
    out.insert(out.end(), ids.begin(), ids.end());
  }
  return out;
}

std::vector<int32_t> SequencePostProcessor::ids_after_sequence() const {
  std::vector<int32_t> out;
  for (const auto& step : steps_) {
    std::vector<int32_t> ids = step->ids_after_sequence();
    out.insert(out.end(), ids.begin(), ids.end());
  }
  return out;
}

}  // namespace ratkv
