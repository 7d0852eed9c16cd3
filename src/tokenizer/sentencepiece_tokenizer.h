#pragma once
// A SentencePiece .model (e.g. Llama's tokenizer.model), run by libsentencepiece. Encoding with
// add_special prepends BOS when the model defines one, as Llama's slow tokenizer does; no EOS is
// added. Control pieces (<s>, </s>) are never matched inside text.
#include <memory>
#include <string>

#include "tokenizer/tokenizer.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace ratkv {

class SentencePieceTokenizer final : public Tokenizer {
 public:
  // model_bytes: the serialized ModelProto; origin names it in errors.
  SentencePieceTokenizer(const std::string& model_bytes, const std::string& origin);
  ~SentencePieceTokenizer() override;

  std::vector<int32_t> encode(std::string_view text, bool add_special) const override;
  // Control tokens are dropped with skip_special and shown as their piece ("</s>") otherwise.
  std::string decode(std::span<const int32_t> ids, bool skip_special) const override;
  int32_t vocab_size() const override;
  std::optional<int32_t> bos_id() const override;
  std::optional<int32_t> eos_id() const override;
  std::optional<int32_t> token_to_id(std::string_view piece) const override;
  std::optional<std::string> id_to_token(int32_t id) const override;
  bool is_special(int32_t id) const override;

 private:
  std::unique_ptr<sentencepiece::SentencePieceProcessor> processor_;
  std::string origin_;
};

}  // namespace ratkv
