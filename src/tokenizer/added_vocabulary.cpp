#include "tokenizer/added_vocabulary.h"

#include "base/error.h"
#include "tokenizer/utf8.h"

namespace ratkv {
namespace {

// Rust regex's Unicode \w, which the reference uses for single_word boundaries.
constexpr std::string_view kWordCharacter = R"([\p{Alpha}\p{M}\p{Nd}\p{Pc}\p{Join_Control}])";

}  // namespace

void AddedVocabulary::Trie::insert(std::string_view pattern, size_t token_index) {
  uint32_t node = 0;
  for (char ch : pattern) {
    auto byte = static_cast<uint8_t>(ch);
    uint32_t child = 0;
    for (const auto& [b, index] : nodes_[node].children) {
      if (b == byte) child = index;
    }
    if (child == 0) {
      child = static_cast<uint32_t>(nodes_.size());
      nodes_[node].children.emplace_back(byte, child);
      nodes_.emplace_back();
    }
    node = child;
  }
  // With two tokens of identical pattern the reference's automaton keeps the first one added.
  if (!nodes_[node].token_index) nodes_[node].token_index = token_index;
  first_bytes_[static_cast<uint8_t>(pattern[0])] = true;
}

std::optional<std::pair<size_t, size_t>> AddedVocabulary::Trie::longest_at(std::string_view text,
                                                                           size_t pos) const {
  if (!first_bytes_[static_cast<uint8_t>(text[pos])]) return std::nullopt;
  std::optional<std::pair<size_t, size_t>> best;
  uint32_t node = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    auto byte = static_cast<uint8_t>(text[i]);
    uint32_t child = 0;
    for (const auto& [b, index] : nodes_[node].children) {
      if (b == byte) child = index;
    }
    if (child == 0) break;
    node = child;
    if (nodes_[node].token_index) best = std::make_pair(*nodes_[node].token_index, i + 1 - pos);
  }
  return best;
}

AddedVocabulary::AddedVocabulary(std::vector<AddedToken> tokens, const Normalizer* normalizer)
    : tokens_(std::move(tokens)), word_char_(Regex::compile(kWordCharacter)) {
  decoder_forms_.reserve(tokens_.size());
  for (size_t i = 0; i < tokens_.size(); ++i) {
    const AddedToken& token = tokens_[i];
    require(!token.content.empty(), "added token with id ", token.id, " has empty content");
    std::string pattern = token.content;
    if (token.normalized && normalizer != nullptr) normalizer->normalize(pattern);
    require(!pattern.empty(), "added token \"", token.content, "\" normalizes to an empty string");
    (token.normalized ? normalized_trie_ : raw_trie_).insert(pattern, i);
    decoder_forms_.push_back(std::move(pattern));
    // Duplicates: the later entry wins for id -> token, the first for content -> id.
    index_by_id_[token.id] = i;
    index_by_content_.emplace(token.content, i);
  }
}

const AddedToken* AddedVocabulary::find(int32_t id) const {
  auto it = index_by_id_.find(id);
  return it == index_by_id_.end() ? nullptr : &tokens_[it->second];
}

std::optional<int32_t> AddedVocabulary::id_of(std::string_view content) const {
  auto it = index_by_content_.find(content);
  if (it == index_by_content_.end()) return std::nullopt;
  return tokens_[it->second].id;
}

bool AddedVocabulary::is_special(int32_t id) const {
  const AddedToken* token = find(id);
  return token != nullptr && token->special;
}

const std::string& AddedVocabulary::decoder_form(int32_t id) const {
  return decoder_forms_[index_by_id_.at(id)];
}

void AddedVocabulary::split(std::string_view text, bool normalized_tokens, std::vector<Segment>& out) const {
  const Trie& trie = normalized_tokens ? normalized_trie_ : raw_trie_;
  if (trie.empty() || text.empty()) {
    out.push_back({0, text.size(), std::nullopt});
    return;
  }
  size_t segment_start = 0;  // end of the previous accepted match
  size_t pos = 0;            // where the automaton resumes; rejected matches are consumed too
  while (pos < text.size()) {
    auto found = trie.longest_at(text, pos);
    if (!found) {
      ++pos;
      continue;
    }
    const AddedToken& token = tokens_[found->first];
    size_t begin = pos, end = pos + found->second;
    pos = end;
    if (token.single_word) {
      bool word_before = begin > 0 && [&] {
        size_t p = begin;
        utf8::previous_code_point(text, p);
        return word_char_.search(text.substr(p, begin - p));
      }();
      bool word_after = end < text.size() && [&] {
        size_t p = end;
        utf8::next_code_point(text, p);
        return word_char_.search(text.substr(end, p - end));
      }();
      if (word_before || word_after) continue;
    }
    if (token.lstrip) {
      size_t p = begin;
      while (p > segment_start) {
        size_t q = p;
        if (!utf8::is_whitespace(utf8::previous_code_point(text, q))) break;
        p = q;
      }
      begin = p;
    }
    if (token.rstrip) {
      while (end < text.size()) {
        size_t q = end;
        if (!utf8::is_whitespace(utf8::next_code_point(text, q))) break;
        end = q;
      }
    }
    if (segment_start < begin) out.push_back({segment_start, begin, std::nullopt});
    out.push_back({begin, end, token.id});
    segment_start = end;
  }
  if (segment_start != text.size()) out.push_back({segment_start, text.size(), std::nullopt});
}

}  // namespace ratkv
