#pragma once
// Hugging Face normalizers: whole-text rewrites applied before pre-tokenization (and to the content of
// added tokens marked normalized, so that those still match afterwards).
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/regex.h"

namespace ratkv {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(std::string& text) const = 0;
};

class SequenceNormalizer final : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> steps) : steps_(std::move(steps)) {}
  void normalize(std::string& text) const override;

 private:
  std::vector<std::unique_ptr<Normalizer>> steps_;
};

// Adds a prefix to non-empty text (Llama-2's "▁" dummy prefix).
class PrependNormalizer final : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prefix) : prefix_(std::move(prefix)) {}
  void normalize(std::string& text) const override;

 private:
  std::string prefix_;
};

// Replaces every non-overlapping match of a literal or regex pattern.
class ReplaceNormalizer final : public Normalizer {
 public:
  ReplaceNormalizer(Regex pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void normalize(std::string& text) const override;

 private:
  Regex pattern_;
  std::string content_;
};

// Removes Unicode White_Space from either end.
class StripNormalizer final : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  void normalize(std::string& text) const override;

 private:
  bool left_;
  bool right_;
};

// Rewrites every byte as its GPT-2 byte-level character.
class ByteLevelNormalizer final : public Normalizer {
 public:
  void normalize(std::string& text) const override;
};

// Replaces all matches of pattern in text by content (shared by the Replace normalizer and decoder).
std::string replace_all(const Regex& pattern, std::string_view text, std::string_view content);

}  // namespace ratkv
