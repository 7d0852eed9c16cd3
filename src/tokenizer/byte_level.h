#pragma once
// GPT-2's reversible byte <-> character map. Byte-level BPE vocabularies are written in these
// characters so that every byte is a printable, non-space code point: printable Latin-1 bytes map to
// themselves and the other 68 bytes to U+0100..U+0143 in byte order.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ratkv::byte_level {

// The UTF-8 encoding of the character standing for each byte.
std::string_view char_of_byte(uint8_t byte);

// Appends the byte-level spelling of raw bytes.
void encode(std::string_view bytes, std::string& out);

// The byte a character stands for, or nullopt if the character is not one of the 256.
std::optional<uint8_t> byte_of_char(char32_t c);

}  // namespace ratkv::byte_level
