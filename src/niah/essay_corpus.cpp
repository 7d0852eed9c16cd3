#include "niah/essay_corpus.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "base/error.h"
#include "niah/markup.h"
#include "niah/text_source.h"

namespace ratkv::niah {

namespace {

bool is_upper_ascii(char c) {
  return c >= 'A' && c <= 'Z';
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

const std::set<std::string>& abbreviations() {
  static const std::set<std::string> a = {
      "mr",   "mrs", "ms",  "dr",  "prof",   "sr",   "jr",  "st",  "vs",   "etc",  "cf",  "fig",
      "figs", "no",  "nos", "vol", "approx", "inc",  "ltd", "co",  "corp", "jan",  "feb", "mar",
      "apr",  "jun", "jul", "aug", "sep",    "sept", "oct", "nov", "dec",  "mon",  "tue", "wed",
      "thu",  "fri", "sat", "sun", "gen",    "gov",  "rev", "est", "dept", "univ", "ed",  "eds",
      "al",   "p",   "pp",  "ch",  "sec",    "ca",   "u.s", "e.g", "i.e",  "op"};
  return a;
}

}  // namespace

bool sentence_boundary(const std::string& w, const std::string& next) {
  // Strip closing quotes and brackets after the end punctuation.
  size_t end = w.size();
  while (end > 0 && std::string("\"')]").find(w[end - 1]) != std::string::npos) --end;
  // UTF-8 closing quotes (” ’) end in 0x9d / 0x99 after E2 80.
  while (end >= 3 && static_cast<unsigned char>(w[end - 3]) == 0xE2 &&
         static_cast<unsigned char>(w[end - 2]) == 0x80 &&
         (static_cast<unsigned char>(w[end - 1]) == 0x9D || static_cast<unsigned char>(w[end - 1]) == 0x99))
    end -= 3;
  if (end == 0) return false;
  const char p = w[end - 1];
  if (p != '.' && p != '?' && p != '!') return false;
  // The next word must start a sentence: a capital or digit, possibly after opening quotes or brackets.
  size_t k = 0;
  while (k < next.size() && std::string("\"'([").find(next[k]) != std::string::npos) ++k;
  if (k + 2 < next.size() && static_cast<unsigned char>(next[k]) == 0xE2) k += 3;  // “ ‘
  if (k >= next.size()) return false;
  if (!is_upper_ascii(next[k]) && !std::isdigit(static_cast<unsigned char>(next[k]))) return false;
  if (p != '.') return true;
  // A period: not after an abbreviation, an initial or a dotted token ("e.g.", "U.S.", "5.1.").
  std::string body = w.substr(0, end - 1);
  while (!body.empty() && std::string("\"'([").find(body[0]) != std::string::npos) body.erase(0, 1);
  if (body.empty()) return false;
  if (body.size() == 1 && std::isalpha(static_cast<unsigned char>(body[0]))) return false;
  if (body.find('.') != std::string::npos) return false;
  return !abbreviations().count(lower(body));
}

EssayCorpus EssayCorpus::from_text(const std::string& text) {
  EssayCorpus c;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    size_t j = i;
    while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j]))) ++j;
    if (j > i) c.words_.emplace_back(text, i, j - i);
    i = j;
  }
  c.sentence_end_.assign(c.words_.size(), 0);
  for (size_t w = 0; w + 1 < c.words_.size(); ++w)
    c.sentence_end_[w] = sentence_boundary(c.words_[w], c.words_[w + 1]) ? 1 : 0;
  if (!c.words_.empty()) c.sentence_end_.back() = 1;  // the repeated corpus restarts with a new sentence
  return c;
}

EssayCorpus EssayCorpus::from_files(const std::vector<std::string>& paths) {
  std::string all;
  for (const auto& p : paths) all += source_to_text(p, read_text_file(p)) + "\n\n";
  EssayCorpus c = from_text(all);
  require(!c.empty(), "the haystack sources hold no text");
  return c;
}

std::vector<std::pair<int64_t, int64_t>> EssayCorpus::sentences(int64_t n) const {
  std::vector<std::pair<int64_t, int64_t>> out;
  int64_t begin = 0;
  const int64_t size = num_words();
  for (int64_t i = 0; i < n; ++i) {
    if (sentence_end_[static_cast<size_t>(i % size)] || i + 1 == n) {
      out.emplace_back(begin, i + 1);
      begin = i + 1;
    }
  }
  return out;
}

std::string EssayCorpus::join(int64_t begin, int64_t end) const {
  std::string s;
  for (int64_t i = begin; i < end; ++i) {
    if (i > begin) s += ' ';
    s += word(i);
  }
  return s;
}

}  // namespace ratkv::niah
