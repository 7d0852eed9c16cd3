#include "tokenizer/text_piece.h"

#include <algorithm>

namespace ratkv {
namespace {

struct Span {
  size_t begin;
  size_t end;
  bool is_delimiter;
};

// The spans covering the whole text, alternating between matches and the text around them, exactly
// as the reference's Pattern::find_matches lays them out (one empty non-match for empty text).
std::vector<Span> cover(size_t text_size, const std::vector<MatchSpan>& matches, bool invert) {
  std::vector<Span> spans;
  spans.reserve(matches.size() * 2 + 1);
  if (text_size == 0) {
    spans.push_back({0, 0, invert});
    return spans;
  }
  size_t previous = 0;
  for (const MatchSpan& m : matches) {
    if (previous != m.begin) spans.push_back({previous, m.begin, invert});
    spans.push_back({m.begin, m.end, !invert});
    previous = m.end;
  }
  if (previous != text_size) spans.push_back({previous, text_size, invert});
  return spans;
}

// Reproduces the fold in the reference's NormalizedString::split: which spans are kept, and which
// are joined to a neighbour.
std::vector<Span> apply_behavior(const std::vector<Span>& spans, SplitBehavior behavior) {
  std::vector<Span> out;
  out.reserve(spans.size());
  switch (behavior) {
    case SplitBehavior::kRemoved:
      for (const Span& s : spans) {
        if (!s.is_delimiter) out.push_back(s);
      }
      break;
    case SplitBehavior::kIsolated:
      for (const Span& s : spans) out.push_back({s.begin, s.end, false});
      break;
    case SplitBehavior::kContiguous: {
      bool previous_match = false;
      for (const Span& s : spans) {
        if (s.is_delimiter == previous_match && !out.empty()) {
          out.back().end = s.end;
        } else {
          out.push_back({s.begin, s.end, false});
        }
        previous_match = s.is_delimiter;
      }
      break;
    }
    case SplitBehavior::kMergedWithPrevious: {
      bool previous_match = false;
      for (const Span& s : spans) {
        if (s.is_delimiter && !previous_match && !out.empty()) {
          out.back().end = s.end;
        } else {
          out.push_back({s.begin, s.end, false});
        }
        previous_match = s.is_delimiter;
      }
      break;
    }
    case SplitBehavior::kMergedWithNext: {
      bool previous_match = false;
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (it->is_delimiter && !previous_match && !out.empty()) {
          out.back().begin = it->begin;
        } else {
          out.push_back({it->begin, it->end, false});
        }
        previous_match = it->is_delimiter;
      }
      std::reverse(out.begin(), out.end());
      break;
    }
  }
  return out;
}

}  // namespace

void split_piece(const TextPiece& piece, const std::vector<MatchSpan>& matches, SplitBehavior behavior,
                 bool invert, std::vector<TextPiece>& out) {
  for (const Span& s : apply_behavior(cover(piece.text.size(), matches, invert), behavior)) {
    if (s.end == s.begin) continue;
    out.push_back({piece.text.substr(s.begin, s.end - s.begin), piece.at_input_start && s.begin == 0});
  }
}

}  // namespace ratkv
