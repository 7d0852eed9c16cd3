#pragma once
// Text <-> token ids for the models ratkv runs. Two formats load through Tokenizer::load:
//  - Hugging Face tokenizer.json with a BPE model (Llama-2 style SentencePiece-converted BPE with byte
//    fallback, and byte-level BPE such as OLMo2's dolma2 / cl100k), reproducing the reference
//    tokenizers library id for id;
//  - SentencePiece .model files, through libsentencepiece.
// For streaming generation, IncrementalDecoder (tokenizer/incremental_decoder.h) turns ids into text
// as they arrive, emitting only complete characters. All methods are safe to call concurrently.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ratkv {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Loads tokenizer.json (HF) or a SentencePiece .model, chosen by content and extension. Errors
  // (ratkv::Error) name the file and what is wrong with it.
  static std::unique_ptr<Tokenizer> load(const std::string& path);

  // text must be valid UTF-8 (a ratkv::Error says where it is not). add_special: apply the
  // post-processor (Llama-2 prepends BOS; OLMo2 adds nothing).
  virtual std::vector<int32_t> encode(std::string_view text, bool add_special) const = 0;
  // Ids the vocabulary does not have are skipped, as the reference does. skip_special leaves out
  // special tokens (BOS, EOS, padding, chat markers...).
  virtual std::string decode(std::span<const int32_t> ids, bool skip_special) const = 0;

  // One past the largest token id (embedding tables may be padded beyond it).
  virtual int32_t vocab_size() const = 0;
  virtual std::optional<int32_t> bos_id() const = 0;
  virtual std::optional<int32_t> eos_id() const = 0;
  // The id of a vocabulary entry or added token spelled exactly so (no normalization applied).
  virtual std::optional<int32_t> token_to_id(std::string_view piece) const = 0;
  // The vocabulary entry of an id, as stored in the file; nullopt for an unknown id.
  virtual std::optional<std::string> id_to_token(int32_t id) const = 0;
  virtual bool is_special(int32_t id) const = 0;
};

}  // namespace ratkv
