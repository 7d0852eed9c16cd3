#pragma once
// A Hugging Face tokenizer.json pipeline: added tokens -> normalizer -> pre-tokenizer -> BPE model ->
// post-processor, and the decoder for the way back. Built by load_hf_tokenizer (hf_json.h).
#include <memory>
#include <optional>

#include "tokenizer/added_vocabulary.h"
#include "tokenizer/bpe_model.h"
#include "tokenizer/decoders.h"
#include "tokenizer/normalizers.h"
#include "tokenizer/post_processors.h"
#include "tokenizer/pre_tokenizers.h"
#include "tokenizer/tokenizer.h"

namespace ratkv {

struct HfPipeline {
  std::unique_ptr<Normalizer> normalizer;         // may be null
  std::unique_ptr<PreTokenizer> pre_tokenizer;    // may be null
  std::unique_ptr<BpeModel> model;                // never null
  std::unique_ptr<PostProcessor> post_processor;  // may be null
  std::unique_ptr<Decoder> decoder;               // may be null: tokens are then joined with spaces
  std::vector<AddedToken> added_tokens;           // moved into the tokenizer's AddedVocabulary
};

class HfTokenizer final : public Tokenizer {
 public:
  explicit HfTokenizer(HfPipeline pipeline);

  std::vector<int32_t> encode(std::string_view text, bool add_special) const override;
  std::string decode(std::span<const int32_t> ids, bool skip_special) const override;
  int32_t vocab_size() const override { return vocab_size_; }
  std::optional<int32_t> bos_id() const override { return bos_id_; }
  std::optional<int32_t> eos_id() const override { return eos_id_; }
  std::optional<int32_t> token_to_id(std::string_view piece) const override;
  std::optional<std::string> id_to_token(int32_t id) const override;
  bool is_special(int32_t id) const override { return added_.is_special(id); }

 private:
  // Normalizes, pre-tokenizes and encodes a stretch of text that holds no raw-matched added token.
  void encode_text(std::string_view text, bool at_input_start, std::vector<int32_t>& ids) const;
  void infer_bos_eos();

  HfPipeline pipeline_;
  AddedVocabulary added_;
  int32_t vocab_size_ = 0;
  std::optional<int32_t> bos_id_;
  std::optional<int32_t> eos_id_;
};

}  // namespace ratkv
