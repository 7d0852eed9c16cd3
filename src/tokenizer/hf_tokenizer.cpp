#include "tokenizer/hf_tokenizer.h"

#include <algorithm>
#include <array>

#include "tokenizer/utf8.h"

namespace ratkv {
namespace {

// Spellings of end-of-sequence tokens across common vocabularies, for files whose post-processor
// does not append one (tokenizer.json itself does not say which token ends a sequence).
constexpr std::array<std::string_view, 6> kEosSpellings = {"</s>",  "<|endoftext|>", "<|end_of_text|>",
                                                           "<eos>", "<|eos|>",       "[SEP]"};

}  // namespace

HfTokenizer::HfTokenizer(HfPipeline pipeline)
    : pipeline_(std::move(pipeline)), added_(std::move(pipeline_.added_tokens), pipeline_.normalizer.get()) {
  vocab_size_ = pipeline_.model->id_bound();
  for (const AddedToken& token : added_.tokens()) vocab_size_ = std::max(vocab_size_, token.id + 1);
  infer_bos_eos();
}

void HfTokenizer::infer_bos_eos() {
  if (pipeline_.post_processor) {
    std::vector<int32_t> before = pipeline_.post_processor->ids_before_sequence();
    std::vector<int32_t> after = pipeline_.post_processor->ids_after_sequence();
    if (!before.empty()) bos_id_ = before.front();
    if (!after.empty()) eos_id_ = after.back();
  }
  if (!eos_id_) {
    for (std::string_view spelling : kEosSpellings) {
      auto id = added_.id_of(spelling);
      if (id && added_.is_special(*id)) {
        eos_id_ = id;
        break;
      }
    }
  }
}

std::vector<int32_t> HfTokenizer::encode(std::string_view text, bool add_special) const {
  utf8::require_valid_utf8(text, "text to encode");
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  std::vector<AddedVocabulary::Segment> segments;
  added_.split(text, /*normalized_tokens=*/false, segments);
  for (const auto& segment : segments) {
    if (segment.token_id) {
      ids.push_back(*segment.token_id);
    } else {
      encode_text(text.substr(segment.begin, segment.end - segment.begin), segment.begin == 0, ids);
    }
  }
  if (pipeline_.post_processor) pipeline_.post_processor->process(ids, add_special);
  return ids;
}

void HfTokenizer::encode_text(std::string_view text, bool at_input_start, std::vector<int32_t>& ids) const {
  std::string normalized(text);
  if (pipeline_.normalizer) pipeline_.normalizer->normalize(normalized);

  std::vector<AddedVocabulary::Segment> segments;
  added_.split(normalized, /*normalized_tokens=*/true, segments);
  std::vector<TextPiece> pieces;
  for (const auto& segment : segments) {
    if (segment.token_id) {
      ids.push_back(*segment.token_id);
      continue;
    }
    TextPiece piece{normalized.substr(segment.begin, segment.end - segment.begin),
                    at_input_start && segment.begin == 0};
    if (piece.text.empty()) continue;
    pieces.clear();
    if (pipeline_.pre_tokenizer) {
      pipeline_.pre_tokenizer->pre_tokenize(piece, pieces);
    } else {
      pieces.push_back(std::move(piece));
    }
    for (const TextPiece& p : pieces) pipeline_.model->tokenize(p.text, ids);
  }
}

std::string HfTokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    if (const AddedToken* added = added_.find(id)) {
      if (!(skip_special && added->special)) tokens.push_back(added_.decoder_form(id));
    } else if (const std::string* token = pipeline_.model->id_to_token(id)) {
      tokens.push_back(*token);
    }
  }
  if (!pipeline_.decoder) {
    std::string joined;
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i > 0) joined += ' ';
      joined += tokens[i];
    }
    return joined;
  }
  pipeline_.decoder->decode_chain(tokens);
  std::string text;
  for (const std::string& t : tokens) text += t;
  return text;
}

std::optional<int32_t> HfTokenizer::token_to_id(std::string_view piece) const {
  if (auto id = added_.id_of(piece)) return id;
  return pipeline_.model->token_to_id(piece);
}

std::optional<std::string> HfTokenizer::id_to_token(int32_t id) const {
  if (const AddedToken* added = added_.find(id)) return added->content;
  if (const std::string* token = pipeline_.model->id_to_token(id)) return *token;
  return std::nullopt;
}

}  // namespace ratkv
