#include "tokenizer/utf8.h"

#include "base/error.h"

namespace ratkv::utf8 {
namespace {

struct Scan {
  size_t length;  // bytes of the well-formed sequence, or of the maximal ill-formed subpart (>= 1)
  bool valid;
  bool truncated;  // ill-formed only because the input ended inside the sequence
};

// Follows Unicode's table of well-formed byte sequences (Table 3-7), which is what makes the
// "maximal subpart" replacement agree with other implementations.
Scan scan_sequence(std::string_view bytes, size_t pos) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(bytes[i]); };
  uint8_t lead = byte(pos);
  if (lead < 0x80) return {1, true, false};
  size_t need = 0;
  uint8_t second_low = 0x80, second_high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    need = 2;
  } else if (lead == 0xE0) {
    need = 3;
    second_low = 0xA0;
  } else if ((lead >= 0xE1 && lead <= 0xEC) || lead == 0xEE || lead == 0xEF) {
    need = 3;
  } else if (lead == 0xED) {
    need = 3;
    second_high = 0x9F;
  } else if (lead == 0xF0) {
    need = 4;
    second_low = 0x90;
  } else if (lead >= 0xF1 && lead <= 0xF3) {
    need = 4;
  } else if (lead == 0xF4) {
    need = 4;
    second_high = 0x8F;
  } else {
    return {1, false, false};
  }
  for (size_t i = 1; i < need; ++i) {
    if (pos + i >= bytes.size()) return {i, false, true};
    uint8_t b = byte(pos + i);
    uint8_t low = i == 1 ? second_low : 0x80;
    uint8_t high = i == 1 ? second_high : 0xBF;
    if (b < low || b > high) return {i, false, false};
  }
  return {need, true, false};
}

}  // namespace

char32_t next_code_point(std::string_view text, size_t& pos) {
  auto b0 = static_cast<uint8_t>(text[pos]);
  size_t n = sequence_length(b0);
  char32_t c = n == 1 ? b0 : n == 2 ? (b0 & 0x1F) : n == 3 ? (b0 & 0x0F) : (b0 & 0x07);
  for (size_t i = 1; i < n; ++i) c = (c << 6) | (static_cast<uint8_t>(text[pos + i]) & 0x3F);
  pos += n;
  return c;
}

char32_t previous_code_point(std::string_view text, size_t& pos) {
  size_t start = pos - 1;
  while (start > 0 && (static_cast<uint8_t>(text[start]) & 0xC0) == 0x80) --start;
  size_t cursor = start;
  char32_t c = next_code_point(text, cursor);
  pos = start;
  return c;
}

void append(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

size_t find_invalid(std::string_view bytes) {
  size_t pos = 0;
  while (pos < bytes.size()) {
    // ASCII runs dominate real text; skip them without the table walk.
    if (static_cast<uint8_t>(bytes[pos]) < 0x80) {
      ++pos;
      continue;
    }
    Scan s = scan_sequence(bytes, pos);
    if (!s.valid) return pos;
    pos += s.length;
  }
  return std::string_view::npos;
}

void require_valid_utf8(std::string_view bytes, std::string_view what) {
  size_t bad = find_invalid(bytes);
  if (bad != std::string_view::npos) {
    fail(what, " is not valid UTF-8 (malformed byte 0x", std::hex,
         static_cast<int>(static_cast<uint8_t>(bytes[bad])), std::dec, " at offset ", bad, ")");
  }
}

std::string to_valid_lossy(std::string_view bytes) {
  if (find_invalid(bytes) == std::string_view::npos) return std::string(bytes);
  std::string out;
  out.reserve(bytes.size() + 8);
  size_t pos = 0;
  while (pos < bytes.size()) {
    Scan s = scan_sequence(bytes, pos);
    if (s.valid) {
      out.append(bytes.substr(pos, s.length));
    } else {
      out.append(kReplacementCharacter);
    }
    pos += s.length;
  }
  return out;
}

bool ends_with_incomplete_sequence(std::string_view text) {
  // A sequence is at most 4 bytes, so only a lead byte among the last 3 can be unfinished.
  size_t first = text.size() > 3 ? text.size() - 3 : 0;
  for (size_t pos = text.size(); pos > first; --pos) {
    auto b = static_cast<uint8_t>(text[pos - 1]);
    if ((b & 0xC0) == 0x80) continue;
    if (b < 0x80) return false;
    Scan s = scan_sequence(text, pos - 1);
    return s.truncated;
  }
  return false;
}

bool is_whitespace(char32_t c) {
  if (c <= 0x20) return c == 0x20 || (c >= 0x09 && c <= 0x0D);
  if (c < 0x85) return false;
  return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
         c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

}  // namespace ratkv::utf8
