#pragma once
// Hugging Face decoders: they turn the token strings of an id sequence back into text. Each stage
// rewrites the list of token strings; the text is their concatenation at the end.
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/pre_tokenizers.h"
#include "tokenizer/regex.h"

namespace ratkv {

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
};

class SequenceDecoder final : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> steps) : steps_(std::move(steps)) {}
  void decode_chain(std::vector<std::string>& tokens) const override;

 private:
  std::vector<std::unique_ptr<Decoder>> steps_;
};

// Replaces a pattern inside each token ("▁" -> " " for SentencePiece-style vocabularies).
class ReplaceDecoder final : public Decoder {
 public:
  ReplaceDecoder(Regex pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void decode_chain(std::vector<std::string>& tokens) const override;

 private:
  Regex pattern_;
  std::string content_;
};

// Turns runs of "<0xAB>" byte tokens into the text they spell; a run that is not valid UTF-8 becomes
// one U+FFFD per byte.
class ByteFallbackDecoder final : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override;
};

// Joins all tokens into one.
class FuseDecoder final : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override;
};

// Removes up to `start` leading and `stop` trailing copies of one character from each token.
class StripDecoder final : public Decoder {
 public:
  StripDecoder(char32_t content, size_t start, size_t stop) : content_(content), start_(start), stop_(stop) {}
  void decode_chain(std::vector<std::string>& tokens) const override;

 private:
  char32_t content_;
  size_t start_;
  size_t stop_;
};

// Maps byte-level characters back to bytes and the whole byte string to text (ill-formed UTF-8 is
// replaced by U+FFFD). A token with a character outside the byte map keeps its own UTF-8 bytes.
class ByteLevelDecoder final : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override;
};

// Turns the replacement character back into spaces, dropping it at the start of the first token
// unless the prepend scheme is "never".
class MetaspaceDecoder final : public Decoder {
 public:
  MetaspaceDecoder(char32_t replacement, PrependScheme scheme) : replacement_(replacement), scheme_(scheme) {}
  void decode_chain(std::vector<std::string>& tokens) const override;

 private:
  char32_t replacement_;
  PrependScheme scheme_;
};

}  // namespace ratkv
