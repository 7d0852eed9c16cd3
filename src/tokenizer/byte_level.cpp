#include "tokenizer/byte_level.h"

#include <array>

#include "tokenizer/utf8.h"

namespace ratkv::byte_level {
namespace {

struct Tables {
  std::array<std::string, 256> char_of_byte;
  std::array<int16_t, 0x144> byte_of_char;  // indexed by code point; -1 where no byte maps there

  Tables() {
    byte_of_char.fill(-1);
    char32_t next_free = 0x100;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      char32_t c = printable ? static_cast<char32_t>(b) : next_free++;
      utf8::append(char_of_byte[b], c);
      byte_of_char[c] = static_cast<int16_t>(b);
    }
  }
};

const Tables& tables() {
  static const Tables instance;
  return instance;
}

}  // namespace

std::string_view char_of_byte(uint8_t byte) {
  return tables().char_of_byte[byte];
}

void encode(std::string_view bytes, std::string& out) {
  const Tables& t = tables();
  for (char b : bytes) out.append(t.char_of_byte[static_cast<uint8_t>(b)]);
}

std::optional<uint8_t> byte_of_char(char32_t c) {
  if (c >= tables().byte_of_char.size()) return std::nullopt;
  int16_t b = tables().byte_of_char[c];
  if (b < 0) return std::nullopt;
  return static_cast<uint8_t>(b);
}

}  // namespace ratkv::byte_level
