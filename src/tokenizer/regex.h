#pragma once
// A compiled PCRE2 pattern (UTF + UCP, JIT when available) that finds matches the way the reference
// tokenizers' Oniguruma regexes do. Patterns from tokenizer.json are written for Oniguruma, so they
// are first adjusted where PCRE2 reads the same syntax differently (see to_pcre2_syntax).
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ratkv {

struct MatchSpan {
  size_t begin;
  size_t end;
};

class Regex {
 public:
  // Fails with a ratkv::Error that names the pattern, the PCRE2 message and the offset.
  static Regex compile(std::string_view pattern);
  // Matches the text literally (used for {"String": ...} patterns).
  static Regex literal(std::string_view text);

  // Non-overlapping matches from left to right. As in Oniguruma's find_iter (and Rust's regex), an
  // empty match that starts where the previous match ended is skipped. text must be valid UTF-8.
  void find_all(std::string_view text, std::vector<MatchSpan>& out) const;
  std::vector<MatchSpan> find_all(std::string_view text) const;

  // True if the pattern matches somewhere in text.
  bool search(std::string_view text) const;

  const std::string& pattern() const { return pattern_; }

 private:
  struct Compiled;
  Regex(std::shared_ptr<const Compiled> compiled, std::string pattern)
      : compiled_(std::move(compiled)), pattern_(std::move(pattern)) {}

  std::shared_ptr<const Compiled> compiled_;
  std::string pattern_;
};

// Rewrites an Oniguruma pattern into one that PCRE2 (UTF + UCP) matches identically. The one place
// the tokenizer patterns hit where the dialects disagree is \s: Oniguruma's is the Unicode
// White_Space set, PCRE2's lacks U+0085 and adds U+180E; \s and \S are spelled out as the
// White_Space set (except \S inside a character class, which no tokenizer in use writes). Caseless
// matching agrees: both fold U+017F onto "s" and U+212A onto "k".
std::string to_pcre2_syntax(std::string_view oniguruma_pattern);

}  // namespace ratkv
