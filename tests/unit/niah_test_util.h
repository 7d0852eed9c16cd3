#pragma once
// A toy tokenizer for the NIAH tests: one token per word and one per punctuation character, so token counts
// are easy to reason about and need no tokenizer file.
#include <cctype>
#include <string_view>
#include <vector>

namespace ratkv::niah::testing {

inline std::vector<int32_t> toy_encode(std::string_view text) {
  std::vector<int32_t> ids;
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (std::isspace(c)) {
      ++i;
    } else if (std::isalnum(c) || c >= 0x80) {
      uint32_t h = 7;
      while (i < text.size() && (std::isalnum(static_cast<unsigned char>(text[i])) ||
                                 static_cast<unsigned char>(text[i]) >= 0x80))
        h = h * 31 + static_cast<unsigned char>(text[i++]);
      ids.push_back(static_cast<int32_t>(h % 30000));
    } else {
      ids.push_back(30000 + c);
      ++i;
    }
  }
  return ids;
}

}  // namespace ratkv::niah::testing
