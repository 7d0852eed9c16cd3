#pragma once
// Streaming detokenization: ids arrive one at a time and text is emitted as soon as it is final.
// Decoding ids one by one is wrong for most tokenizers (a byte-fallback character spans several ids,
// SentencePiece-style decoders strip the space of the first token), so each step decodes a short
// window of recent ids twice - with and without the new ones - and emits the difference, holding it
// back while it ends in an unfinished character (U+FFFD).
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace ratkv {

class IncrementalDecoder {
 public:
  // context: ids that precede the generated ones (e.g. the tail of the prompt). They are never
  // emitted but make the first generated token decode as it would in the middle of the text.
  IncrementalDecoder(const Tokenizer& tokenizer, bool skip_special, std::span<const int32_t> context = {});

  // Adds one id; returns the text that became final (often empty while a character is incomplete).
  std::string push(int32_t id);
  // Returns whatever is still held back (an unfinished character shows as U+FFFD). Call at the end.
  std::string flush();

 private:
  std::string emit_ready(bool force);

  const Tokenizer& tokenizer_;
  bool skip_special_;
  std::vector<int32_t> ids_;
  size_t prefix_offset_ = 0;  // ids_[prefix_offset_, read_offset_) were emitted and give context
  size_t read_offset_ = 0;    // ids_[read_offset_, end) are not emitted yet
};

}  // namespace ratkv
