#pragma once
// The BPE model of Hugging Face tokenizers: a word (one pre-tokenized piece) starts as one symbol per
// character and pairs are merged lowest rank first, equal ranks left to right. Characters missing
// from the vocabulary become <0xAB> byte tokens (byte_fallback) or the unknown token.
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ratkv {

struct BpeOptions {
  std::optional<std::string> unk_token;
  std::string continuing_subword_prefix;  // prepended to every non-initial character of a word
  std::string end_of_word_suffix;         // appended to the last character of a word
  bool fuse_unk = false;                  // consecutive unknown characters give one unknown token
  bool byte_fallback = false;
  bool ignore_merges = false;  // a word found whole in the vocabulary is one token
};

struct TransparentStringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

using Vocabulary = std::unordered_map<std::string, int32_t, TransparentStringHash, std::equal_to<>>;

class BpeModel {
 public:
  // Fails with a ratkv::Error naming the offending merge or token: merges whose parts or result are
  // not in the vocabulary, negative or duplicate ids, an unknown token missing from the vocabulary.
  BpeModel(Vocabulary vocab, const std::vector<std::pair<std::string, std::string>>& merges,
           BpeOptions options);
  ~BpeModel();
  BpeModel(const BpeModel&) = delete;
  BpeModel& operator=(const BpeModel&) = delete;

  // Appends the ids of one word. Safe to call from several threads at once.
  void tokenize(std::string_view word, std::vector<int32_t>& out) const;

  std::optional<int32_t> token_to_id(std::string_view token) const;
  // nullptr for an id the vocabulary does not have.
  const std::string* id_to_token(int32_t id) const;
  // One past the largest id.
  int32_t id_bound() const { return static_cast<int32_t>(tokens_by_id_.size()); }
  size_t entry_count() const { return vocab_.size(); }

 private:
  class PairTable;
  struct Symbol;

  // The ids of the word before any merge, in the reference's order (including its unknown-token
  // fusing rules).
  void initial_symbols(std::string_view word, std::vector<Symbol>& symbols) const;
  void merge_word(std::string_view word, std::vector<int32_t>& out) const;
  void tokenize_whole(std::string_view word, std::vector<int32_t>& out) const;

  Vocabulary vocab_;
  std::vector<std::string> tokens_by_id_;
  std::vector<bool> id_present_;
  BpeOptions options_;
  std::optional<int32_t> unk_id_;
  int32_t byte_token_ids_[256];  // "<0xAB>" ids, -1 where absent
  std::unordered_map<char32_t, int32_t> single_char_ids_;
  std::unique_ptr<PairTable> merges_;
  // SentencePiece-converted vocabularies (Llama-2) come without a pre-tokenizer, so a whole text is
  // one word. When no vocabulary token runs from another character into a following "▁", no merge
  // can span the start of a "▁" run, and the word is encoded in parts that the cache then serves.
  bool split_before_word_marker_ = false;

  // Words recur constantly in real text; their ids are kept here (bounded, cleared when full).
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>, TransparentStringHash, std::equal_to<>>
      cache_;
};

}  // namespace ratkv
