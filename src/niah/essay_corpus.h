#pragma once
// The essay haystack as RULER uses it: the corpus text with whitespace collapsed, split into words; the
// context of size n is the first n words (the corpus repeated when n is larger), split into sentences, and
// needles go on sentence boundaries. RULER splits sentences with NLTK Punkt; ratkv uses a rule-based
// splitter (end punctuation, optional closing quote or bracket, then a capital, digit or opening quote;
// not after known abbreviations, single initials or dotted words such as "e.g.") — the needles land on
// slightly different boundaries, which does not change the task (docs/niah.md).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ratkv::niah {

class EssayCorpus {
 public:
  EssayCorpus() = default;
  // Text (any whitespace) → words and sentence ends.
  static EssayCorpus from_text(const std::string& text);
  // Each file read (gzip allowed), converted to prose by its type (markup.h), joined by blank lines.
  static EssayCorpus from_files(const std::vector<std::string>& paths);

  int64_t num_words() const { return static_cast<int64_t>(words_.size()); }
  bool empty() const { return words_.empty(); }
  // Word i of the repeated corpus.
  const std::string& word(int64_t i) const { return words_[static_cast<size_t>(i % num_words())]; }
  // Sentences of the first n words as [begin, end) word ranges; the last one may be cut short.
  std::vector<std::pair<int64_t, int64_t>> sentences(int64_t n) const;
  // Words [begin, end) joined by single spaces.
  std::string join(int64_t begin, int64_t end) const;
  // The whole corpus as one string (words joined by single spaces).
  std::string text() const { return join(0, num_words()); }

 private:
  std::vector<std::string> words_;
  std::vector<uint8_t> sentence_end_;  // a sentence ends after word i
};

// Whether a sentence ends between word `w` and word `next` (both non-empty, no whitespace).
bool sentence_boundary(const std::string& w, const std::string& next);

}  // namespace ratkv::niah
