#include "tokenizer/normalizers.h"

#include "tokenizer/byte_level.h"
#include "tokenizer/utf8.h"

namespace ratkv {

std::string replace_all(const Regex& pattern, std::string_view text, std::string_view content) {
  std::vector<MatchSpan> matches;
  pattern.find_all(text, matches);
  if (matches.empty()) return std::string(text);
  std::string out;
  out.reserve(text.size() + matches.size() * content.size());
  size_t previous = 0;
  for (const MatchSpan& m : matches) {
    out.append(text.substr(previous, m.begin - previous));
    out.append(content);
    previous = m.end;
  }
  out.append(text.substr(previous));
  return out;
}

void SequenceNormalizer::normalize(std::string& text) const {
  for (const auto& step : steps_) step->normalize(text);
}

void PrependNormalizer::normalize(std::string& text) const {
  if (!text.empty()) text = prefix_ + text;
}

void ReplaceNormalizer::normalize(std::string& text) const {
  text = replace_all(pattern_, text, content_);
}

void StripNormalizer::normalize(std::string& text) const {
  size_t begin = 0, end = text.size();
  if (left_) {
    while (begin < end) {
      size_t next = begin;
      if (!utf8::is_whitespace(utf8::next_code_point(text, next))) break;
      begin = next;
    }
  }
  if (right_) {
    while (end > begin) {
      size_t previous = end;
      if (!utf8::is_whitespace(utf8::previous_code_point(text, previous))) break;
      end = previous;
    }
  }
  text = text.substr(begin, end - begin);
}

void ByteLevelNormalizer::normalize(std::string& text) const {
  std::string out;
  out.reserve(text.size() * 2);
  byte_level::encode(text, out);
  text = std::move(out);
}

}  // namespace ratkv
