#pragma once
// Hugging Face pre-tokenizers: they cut normalized text into the pieces that the model encodes one
// at a time (and may rewrite them, as ByteLevel and Metaspace do).
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tokenizer/regex.h"
#include "tokenizer/text_piece.h"

namespace ratkv {

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Appends the pieces piece turns into to out.
  virtual void pre_tokenize(const TextPiece& piece, std::vector<TextPiece>& out) const = 0;
};

class SequencePreTokenizer final : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps)
      : steps_(std::move(steps)) {}
  void pre_tokenize(const TextPiece& piece, std::vector<TextPiece>& out) const override;

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

class SplitPreTokenizer final : public PreTokenizer {
 public:
  SplitPreTokenizer(Regex pattern, SplitBehavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}
  void pre_tokenize(const TextPiece& piece, std::vector<TextPiece>& out) const override;

 private:
  Regex pattern_;
  SplitBehavior behavior_;
  bool invert_;
};

// GPT-2's byte-level step: optionally a leading space and the GPT-2 word regex, then every byte
// spelled as its byte-level character.
class ByteLevelPreTokenizer final : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex);
  void pre_tokenize(const TextPiece& piece, std::vector<TextPiece>& out) const override;

 private:
  bool add_prefix_space_;
  bool use_regex_;
  std::optional<Regex> gpt2_words_;
};

enum class PrependScheme { kAlways, kFirst, kNever };

// SentencePiece-style whitespace: spaces become the replacement character ("▁"), which is also
// prepended per the scheme, and optionally each "▁" starts a new piece.
class MetaspacePreTokenizer final : public PreTokenizer {
 public:
  MetaspacePreTokenizer(std::string replacement, PrependScheme scheme, bool split);
  void pre_tokenize(const TextPiece& piece, std::vector<TextPiece>& out) const override;

 private:
  std::string replacement_;
  PrependScheme scheme_;
  bool split_;
  Regex replacement_pattern_;
};

// Separates numeric characters (\p{N}) from the rest: each digit alone, or runs of digits.
class DigitsPreTokenizer final : public PreTokenizer {
 public:
  explicit DigitsPreTokenizer(bool individual_digits);
  void pre_tokenize(const TextPiece& piece, std::vector<TextPiece>& out) const override;

 private:
  bool individual_digits_;
  Regex numeric_;
};

}  // namespace ratkv
