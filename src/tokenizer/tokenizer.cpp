#include "tokenizer/tokenizer.h"

#include "base/error.h"
#include "base/mapped_file.h"
#include "tokenizer/hf_json.h"
#include "tokenizer/sentencepiece_tokenizer.h"

namespace ratkv {
namespace {

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The first character of the file after an optional UTF-8 byte order mark and whitespace.
char first_significant_char(std::string_view bytes) {
  if (bytes.substr(0, 3) == "\xEF\xBB\xBF") bytes.remove_prefix(3);
  for (char c : bytes) {
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return c;
  }
  return '\0';
}

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::load(const std::string& path) {
  std::string bytes = read_text_file(path);
  require(!bytes.empty(), path, ": the tokenizer file is empty");
  // A serialized SentencePiece ModelProto starts with a protobuf field tag, never with '{'.
  if (ends_with(path, ".json") || first_significant_char(bytes) == '{') return load_hf_tokenizer(bytes, path);
  if (ends_with(path, ".model")) return std::make_unique<SentencePieceTokenizer>(bytes, path);
  try {
    return std::make_unique<SentencePieceTokenizer>(bytes, path);
  } catch (const Error&) {
    fail(path, ": neither a tokenizer.json (JSON object) nor a SentencePiece .model");
  }
}

}  // namespace ratkv
