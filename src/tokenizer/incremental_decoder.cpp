#include "tokenizer/incremental_decoder.h"

#include "tokenizer/utf8.h"

namespace ratkv {

IncrementalDecoder::IncrementalDecoder(const Tokenizer& tokenizer, bool skip_special,
                                       std::span<const int32_t> context)
    : tokenizer_(tokenizer), skip_special_(skip_special), ids_(context.begin(), context.end()) {
  // A few ids of context are enough for every decoder's look-behind (leading-space stripping).
  constexpr size_t kContextIds = 4;
  if (ids_.size() > kContextIds) ids_.erase(ids_.begin(), ids_.end() - kContextIds);
  read_offset_ = ids_.size();
}

std::string IncrementalDecoder::push(int32_t id) {
  ids_.push_back(id);
  return emit_ready(false);
}

std::string IncrementalDecoder::flush() {
  return emit_ready(true);
}

std::string IncrementalDecoder::emit_ready(bool force) {
  if (read_offset_ == ids_.size()) return {};
  std::span<const int32_t> all(ids_);
  std::string before =
      tokenizer_.decode(all.subspan(prefix_offset_, read_offset_ - prefix_offset_), skip_special_);
  std::string after = tokenizer_.decode(all.subspan(prefix_offset_), skip_special_);
  const bool unfinished = after.size() >= utf8::kReplacementCharacter.size() &&
                          after.compare(after.size() - utf8::kReplacementCharacter.size(),
                                        utf8::kReplacementCharacter.size(), utf8::kReplacementCharacter) == 0;
  if (!force && (after.size() <= before.size() || unfinished)) return {};

  // Appending ids normally only appends text. Where a decoder rewrites earlier text instead, the
  // longest common prefix (on a character boundary) marks what is new.
  size_t common = 0;
  if (after.compare(0, before.size(), before) == 0) {
    common = before.size();
  } else {
    while (common < before.size() && common < after.size() && before[common] == after[common]) ++common;
    while (common > 0 && (static_cast<uint8_t>(after[common]) & 0xC0) == 0x80) --common;
  }
  std::string fresh = after.substr(common);
  prefix_offset_ = read_offset_;
  read_offset_ = ids_.size();
  // Keep only the context window, so memory and work per step stay constant.
  ids_.erase(ids_.begin(), ids_.begin() + static_cast<std::ptrdiff_t>(prefix_offset_));
  read_offset_ -= prefix_offset_;
  prefix_offset_ = 0;
  return fresh;
}

}  // namespace ratkv
