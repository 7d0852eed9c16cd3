#include "tokenizer/decoders.h"

#include "tokenizer/byte_level.h"
#include "tokenizer/normalizers.h"
#include "tokenizer/utf8.h"

namespace ratkv {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The byte of a "<0xAB>" token, or -1.
int byte_token_value(const std::string& token) {
  if (token.size() != 6 || token.compare(0, 3, "<0x") != 0 || token[5] != '>') return -1;
  int high = hex_value(token[3]), low = hex_value(token[4]);
  return high < 0 || low < 0 ? -1 : high * 16 + low;
}

void flush_bytes(std::string& bytes, std::vector<std::string>& out) {
  if (bytes.empty()) return;
  if (utf8::find_invalid(bytes) == std::string::npos) {
    out.push_back(bytes);
  } else {
    for (size_t i = 0; i < bytes.size(); ++i) out.emplace_back(utf8::kReplacementCharacter);
  }
  bytes.clear();
}

std::vector<char32_t> code_points(std::string_view text) {
  std::vector<char32_t> out;
  out.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) out.push_back(utf8::next_code_point(text, pos));
  return out;
}

}  // namespace

void SequenceDecoder::decode_chain(std::vector<std::string>& tokens) const {
  for (const auto& step : steps_) step->decode_chain(tokens);
}

void ReplaceDecoder::decode_chain(std::vector<std::string>& tokens) const {
  for (std::string& token : tokens) token = replace_all(pattern_, token, content_);
}

void ByteFallbackDecoder::decode_chain(std::vector<std::string>& tokens) const {
  std::vector<std::string> out;
  out.reserve(tokens.size());
  std::string bytes;
  for (std::string& token : tokens) {
    int value = byte_token_value(token);
    if (value >= 0) {
      bytes.push_back(static_cast<char>(value));
      continue;
    }
    flush_bytes(bytes, out);
    out.push_back(std::move(token));
  }
  flush_bytes(bytes, out);
  tokens = std::move(out);
}

void FuseDecoder::decode_chain(std::vector<std::string>& tokens) const {
  std::string joined;
  for (const std::string& token : tokens) joined += token;
  tokens.assign(1, std::move(joined));
}

void StripDecoder::decode_chain(std::vector<std::string>& tokens) const {
  for (std::string& token : tokens) {
    std::vector<char32_t> chars = code_points(token);
    size_t begin = 0;
    while (begin < start_ && begin < chars.size() && chars[begin] == content_) ++begin;
    size_t end = chars.size();
    while (chars.size() - end < stop_ && end > begin && chars[end - 1] == content_) --end;
    if (begin == 0 && end == chars.size()) continue;
    std::string stripped;
    for (size_t i = begin; i < end; ++i) utf8::append(stripped, chars[i]);
    token = std::move(stripped);
  }
}

void ByteLevelDecoder::decode_chain(std::vector<std::string>& tokens) const {
  std::string bytes;
  for (const std::string& token : tokens) {
    size_t mark = bytes.size();
    bool all_mapped = true;
    for (size_t pos = 0; pos < token.size();) {
      std::optional<uint8_t> b = byte_level::byte_of_char(utf8::next_code_point(token, pos));
      if (!b) {
        all_mapped = false;
        break;
      }
      bytes.push_back(static_cast<char>(*b));
    }
    if (!all_mapped) {
      bytes.resize(mark);
      bytes += token;
    }
  }
  tokens.assign(1, utf8::to_valid_lossy(bytes));
}

void MetaspaceDecoder::decode_chain(std::vector<std::string>& tokens) const {
  for (size_t i = 0; i < tokens.size(); ++i) {
    std::string out;
    out.reserve(tokens[i].size());
    bool drop = i == 0 && scheme_ != PrependScheme::kNever;
    for (size_t pos = 0; pos < tokens[i].size();) {
      char32_t c = utf8::next_code_point(tokens[i], pos);
      if (c != replacement_) {
        utf8::append(out, c);
      } else if (!drop) {
        out.push_back(' ');
      }
    }
    tokens[i] = std::move(out);
  }
}

}  // namespace ratkv
