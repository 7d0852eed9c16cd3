#pragma once
// The unit that flows from normalization through pre-tokenization into the model, and the splitting
// rules (Hugging Face's SplitDelimiterBehavior) that every splitting pre-tokenizer shares.
#include <string>
#include <vector>

#include "tokenizer/regex.h"

namespace ratkv {

struct TextPiece {
  std::string text;
  // Whether the piece begins where the caller's text begins. Metaspace's "first" prepend scheme adds
  // its marker only there, so that text after an added token is not treated as a new sentence.
  bool at_input_start = false;
};

// What happens to the delimiters found by a pattern.
enum class SplitBehavior {
  kRemoved,             // dropped
  kIsolated,            // each becomes its own piece
  kMergedWithPrevious,  // glued to the end of the piece before it
  kMergedWithNext,      // glued to the start of the piece after it
  kContiguous,          // adjacent delimiters form one piece
};

// Splits piece at the delimiters `matches` (sorted, non-overlapping spans of piece.text). With
// invert, the matches are the content and the text between them the delimiters. Appends the
// non-empty results to out.
void split_piece(const TextPiece& piece, const std::vector<MatchSpan>& matches, SplitBehavior behavior,
                 bool invert, std::vector<TextPiece>& out);

}  // namespace ratkv
