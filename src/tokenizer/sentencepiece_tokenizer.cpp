#include "tokenizer/sentencepiece_tokenizer.h"

#include <sentencepiece_processor.h>

#include "base/error.h"
#include "tokenizer/utf8.h"

namespace ratkv {

SentencePieceTokenizer::SentencePieceTokenizer(const std::string& model_bytes, const std::string& origin)
    : processor_(std::make_unique<sentencepiece::SentencePieceProcessor>()), origin_(origin) {
  auto status = processor_->LoadFromSerializedProto(model_bytes);
  require(status.ok(), origin, ": not a valid SentencePiece model: ", status.ToString());
  require(processor_->GetPieceSize() > 0, origin, ": the SentencePiece model has no pieces");
}

SentencePieceTokenizer::~SentencePieceTokenizer() = default;

std::vector<int32_t> SentencePieceTokenizer::encode(std::string_view text, bool add_special) const {
  utf8::require_valid_utf8(text, "text to encode");
  std::vector<int> ids;
  auto status = processor_->Encode(text, &ids);
  require(status.ok(), origin_, ": SentencePiece failed to encode: ", status.ToString());
  std::vector<int32_t> out;
  out.reserve(ids.size() + 1);
  if (add_special && processor_->bos_id() >= 0) out.push_back(processor_->bos_id());
  out.insert(out.end(), ids.begin(), ids.end());
  return out;
}

std::string SentencePieceTokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
  // SentencePiece renders control ids as nothing; runs between them are decoded together so that
  // byte pieces and the leading-space rule work as in one Decode call.
  std::string text;
  std::vector<int> run;
  auto flush = [&] {
    if (run.empty()) return;
    std::string piece_text;
    auto status = processor_->Decode(run, &piece_text);
    require(status.ok(), origin_, ": SentencePiece failed to decode: ", status.ToString());
    text += piece_text;
    run.clear();
  };
  const int size = processor_->GetPieceSize();
  for (int32_t id : ids) {
    if (id < 0 || id >= size) continue;
    if (processor_->IsControl(id)) {
      flush();
      if (!skip_special) text += processor_->IdToPiece(id);
      continue;
    }
    run.push_back(id);
  }
  flush();
  return text;
}

int32_t SentencePieceTokenizer::vocab_size() const {
  return processor_->GetPieceSize();
}

std::optional<int32_t> SentencePieceTokenizer::bos_id() const {
  int id = processor_->bos_id();
  return id >= 0 ? std::optional<int32_t>(id) : std::nullopt;
}

std::optional<int32_t> SentencePieceTokenizer::eos_id() const {
  int id = processor_->eos_id();
  return id >= 0 ? std::optional<int32_t>(id) : std::nullopt;
}

std::optional<int32_t> SentencePieceTokenizer::token_to_id(std::string_view piece) const {
  int id = processor_->PieceToId(piece);
  // PieceToId answers unk_id for pieces it does not know.
  if (id < 0 || (processor_->IsUnknown(id) && processor_->IdToPiece(id) != piece)) return std::nullopt;
  return id;
}

std::optional<std::string> SentencePieceTokenizer::id_to_token(int32_t id) const {
  if (id < 0 || id >= processor_->GetPieceSize()) return std::nullopt;
  return processor_->IdToPiece(id);
}

bool SentencePieceTokenizer::is_special(int32_t id) const {
  return id >= 0 && id < processor_->GetPieceSize() && processor_->IsControl(id);
}

}  // namespace ratkv
