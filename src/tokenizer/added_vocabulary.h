#pragma once
// Added tokens (special or not) of a Hugging Face tokenizer. They are cut out of the text before the
// model sees it: tokens with normalized=false are matched in the raw text, the others in the text
// after normalization, both leftmost-longest, with the single_word / lstrip / rstrip rules of the
// reference.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/bpe_model.h"
#include "tokenizer/normalizers.h"
#include "tokenizer/regex.h"

namespace ratkv {

struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool single_word = false;  // match only where no word character touches either end
  bool lstrip = false;       // the match swallows whitespace on its left
  bool rstrip = false;       // the match swallows whitespace on its right
  bool normalized = true;    // match against normalized text
  bool special = false;      // skipped by decode(..., skip_special = true)
};

class AddedVocabulary {
 public:
  // normalizer may be null. Fails on an empty token or one that normalizes to nothing.
  AddedVocabulary(std::vector<AddedToken> tokens, const Normalizer* normalizer);

  struct Segment {
    size_t begin;
    size_t end;
    std::optional<int32_t> token_id;  // set where the segment is an added token
  };
  // Covers text with segments: the added tokens found in it and the text between them. Matches
  // only the tokens whose `normalized` flag equals `normalized_tokens`.
  void split(std::string_view text, bool normalized_tokens, std::vector<Segment>& out) const;

  const AddedToken* find(int32_t id) const;
  std::optional<int32_t> id_of(std::string_view content) const;
  bool is_special(int32_t id) const;
  // The string the decoder receives for an added token: normalized tokens are given in normalized
  // form so that the decoder undoes the normalization (as the reference does since tokenizers 0.23).
  const std::string& decoder_form(int32_t id) const;
  const std::vector<AddedToken>& tokens() const { return tokens_; }

 private:
  // A byte trie over the patterns of one kind (raw or normalized) for leftmost-longest matching.
  class Trie {
   public:
    void insert(std::string_view pattern, size_t token_index);
    // The longest pattern starting at text[pos]: (token index, length).
    std::optional<std::pair<size_t, size_t>> longest_at(std::string_view text, size_t pos) const;
    bool empty() const { return nodes_.size() <= 1; }

   private:
    struct Node {
      std::vector<std::pair<uint8_t, uint32_t>> children;
      std::optional<size_t> token_index;
    };
    std::vector<Node> nodes_{Node{}};
    bool first_bytes_[256] = {};
  };

  std::vector<AddedToken> tokens_;
  std::vector<std::string> decoder_forms_;
  std::unordered_map<int32_t, size_t> index_by_id_;
  std::unordered_map<std::string, size_t, TransparentStringHash, std::equal_to<>> index_by_content_;
  Trie raw_trie_;
  Trie normalized_trie_;
  Regex word_char_;
};

}  // namespace ratkv
