#pragma once
// Builds the normalizer, pre-tokenizer, post-processor and decoder objects from their tokenizer.json
// descriptions. Internal to hf_json.cpp; separate only to keep both files readable.
#include <memory>
#include <string>
#include <string_view>

#include "base/json.h"
#include "tokenizer/decoders.h"
#include "tokenizer/normalizers.h"
#include "tokenizer/post_processors.h"
#include "tokenizer/pre_tokenizers.h"

namespace ratkv {

// Where in the file a value sits, for error messages: "<file>: pre_tokenizer.pretokenizers[1]".
struct JsonPath {
  std::string text;
  bool is_root = false;

  JsonPath key(std::string_view name) const {
    return {is_root ? cat(text, " ", name) : cat(text, ".", name), false};
  }
  JsonPath index(size_t i) const { return {cat(text, "[", i, "]"), false}; }
};

std::unique_ptr<Normalizer> parse_normalizer(const Json& json, const JsonPath& where);
std::unique_ptr<PreTokenizer> parse_pre_tokenizer(const Json& json, const JsonPath& where);
std::unique_ptr<PostProcessor> parse_post_processor(const Json& json, const JsonPath& where);
std::unique_ptr<Decoder> parse_decoder(const Json& json, const JsonPath& where);

}  // namespace ratkv
