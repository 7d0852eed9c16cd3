#include "tokenizer/pre_tokenizers.h"

#include "tokenizer/byte_level.h"
#include "tokenizer/normalizers.h"

namespace ratkv {
namespace {

// The regex GPT-2's ByteLevel pre-tokenizer has always used (it is not configurable in the reference).
constexpr std::string_view kGpt2WordPattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

}  // namespace

void SequencePreTokenizer::pre_tokenize(const TextPiece& piece, std::vector<TextPiece>& out) const {
  std::vector<TextPiece> current{piece}, next;
  for (const auto& step : steps_) {
    next.clear();
    for (const TextPiece& p : current) step->pre_tokenize(p, next);
    current.swap(next);
  }
  for (TextPiece& p : current) out.push_back(std::move(p));
}

void SplitPreTokenizer::pre_tokenize(const TextPiece& piece, std::vector<TextPiece>& out) const {
  split_piece(piece, pattern_.find_all(piece.text), behavior_, invert_, out);
}

ByteLevelPreTokenizer::ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex)
    : add_prefix_space_(add_prefix_space), use_regex_(use_regex) {
  if (use_regex_) gpt2_words_ = Regex::compile(kGpt2WordPattern);
}

void ByteLevelPreTokenizer::pre_tokenize(const TextPiece& piece, std::vector<TextPiece>& out) const {
  TextPiece prefixed{add_prefix_space_ && (piece.text.empty() || piece.text[0] != ' ') ? " " : "",
                     piece.at_input_start};
  prefixed.text += piece.text;
  size_t first = out.size();
  if (use_regex_) {
    split_piece(prefixed, gpt2_words_->find_all(prefixed.text), SplitBehavior::kIsolated, false, out);
  } else if (!prefixed.text.empty()) {
    out.push_back(std::move(prefixed));
  }
  for (size_t i = first; i < out.size(); ++i) {
    std::string mapped;
    mapped.reserve(out[i].text.size() * 2);
    byte_level::encode(out[i].text, mapped);
    out[i].text = std::move(mapped);
  }
}

MetaspacePreTokenizer::MetaspacePreTokenizer(std::string replacement, PrependScheme scheme, bool split)
    : replacement_(std::move(replacement)),
      scheme_(scheme),
      split_(split),
      replacement_pattern_(Regex::literal(replacement_)) {}

void MetaspacePreTokenizer::pre_tokenize(const TextPiece& piece, std::vector<TextPiece>& out) const {
  static const Regex space = Regex::literal(" ");
  std::string spaced = replace_all(space, piece.text, replacement_);
  bool starts_with_marker = spaced.compare(0, replacement_.size(), replacement_) == 0;
  bool prepend =
      scheme_ == PrependScheme::kAlways || (scheme_ == PrependScheme::kFirst && piece.at_input_start);
  TextPiece replaced{prepend && !starts_with_marker ? replacement_ : std::string(), piece.at_input_start};
  replaced.text += spaced;
  if (split_) {
    split_piece(replaced, replacement_pattern_.find_all(replaced.text), SplitBehavior::kMergedWithNext, false,
                out);
  } else if (!replaced.text.empty()) {
    out.push_back(std::move(replaced));
  }
}

DigitsPreTokenizer::DigitsPreTokenizer(bool individual_digits)
    : individual_digits_(individual_digits), numeric_(Regex::compile(R"(\p{N})")) {}

void DigitsPreTokenizer::pre_tokenize(const TextPiece& piece, std::vector<TextPiece>& out) const {
  split_piece(piece, numeric_.find_all(piece.text),
              individual_digits_ ? SplitBehavior::kIsolated : SplitBehavior::kContiguous, false, out);
}

}  // namespace ratkv
