#pragma once
// UTF-8 helpers shared by the tokenizer stages. Tokenizer inputs are validated once at the door
// (require_valid_utf8); everything after that may assume well-formed UTF-8.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ratkv::utf8 {

// Byte length of the sequence that starts with this lead byte (1 for continuation or invalid bytes,
// so that a scan always advances).
inline size_t sequence_length(uint8_t lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xF0) return 4;
  if (lead >= 0xE0) return 3;
  if (lead >= 0xC0) return 2;
  return 1;
}

// Decodes the code point starting at text[pos] of well-formed UTF-8 and advances pos past it.
char32_t next_code_point(std::string_view text, size_t& pos);

// Decodes the code point that ends at text[pos - 1] of well-formed UTF-8 and moves pos to its start.
char32_t previous_code_point(std::string_view text, size_t& pos);

void append(std::string& out, char32_t code_point);

// Offset of the first byte that does not begin a well-formed sequence, or npos if text is valid UTF-8.
size_t find_invalid(std::string_view bytes);

// Fails with a ratkv::Error naming what and the offset of the first malformed byte.
void require_valid_utf8(std::string_view bytes, std::string_view what);

// Replaces every maximal ill-formed subsequence by U+FFFD, the way Rust's String::from_utf8_lossy
// does (and therefore the way Hugging Face decoders render broken byte sequences).
std::string to_valid_lossy(std::string_view bytes);

// True if text ends with an incomplete multi-byte sequence that more bytes could still complete.
bool ends_with_incomplete_sequence(std::string_view text);

// The Unicode White_Space property: what Rust's char::is_whitespace and the regex \s of the
// reference tokenizers accept.
bool is_whitespace(char32_t c);

inline constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";

}  // namespace ratkv::utf8
