#include "niah/key_words.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "base/error.h"

namespace ratkv::niah {

namespace {

std::vector<std::string> read_list(const std::string& path) {
  std::ifstream in(path);
  require(in.good(), "cannot read word list ", path);
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
    if (line.empty() || !seen.insert(line).second) continue;
    out.push_back(line);
  }
  require(!out.empty(), "word list ", path, " is empty");
  return out;
}

bool plain_word(const std::string& w) {
  if (w.size() < 3 || w.size() > 12) return false;
  return std::all_of(w.begin(), w.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

}  // namespace

std::vector<std::string> read_wordnet_index(const std::string& path, int64_t min_tagged) {
  std::ifstream in(path);
  require(in.good(), "cannot read WordNet index ", path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == ' ') continue;  // the license header lines start with two spaces
    std::istringstream fields(line);
    std::string lemma, pos;
    int64_t synsets = 0, pointers = 0;
    if (!(fields >> lemma >> pos >> synsets >> pointers)) continue;
    std::string skip;
    for (int64_t i = 0; i < pointers; ++i) fields >> skip;
    int64_t senses = 0, tagged = 0;
    if (!(fields >> senses >> tagged)) continue;
    if (plain_word(lemma) && tagged >= min_tagged) out.push_back(lemma);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  require(!out.empty(), "WordNet index ", path, " gave no words");
  return out;
}

KeyWords KeyWords::from_vectors(std::vector<std::string> adjectives, std::vector<std::string> nouns) {
  require(!adjectives.empty() && !nouns.empty(), "word lists must not be empty");
  KeyWords k;
  k.adjectives_ = std::move(adjectives);
  k.nouns_ = std::move(nouns);
  k.origin_ = "given lists";
  return k;
}

KeyWords KeyWords::from_lists(const std::string& dir) {
  KeyWords k;
  k.adjectives_ = read_list(dir + "/adjectives.txt");
  k.nouns_ = read_list(dir + "/nouns.txt");
  k.origin_ = dir;
  return k;
}

KeyWords KeyWords::from_wordnet(const std::string& dir) {
  KeyWords k;
  k.adjectives_ = read_wordnet_index(dir + "/index.adj", 2);
  k.nouns_ = read_wordnet_index(dir + "/index.noun", 1);
  k.origin_ = "wordnet:" + dir;
  return k;
}

KeyWords KeyWords::load(const std::string& dir_or_empty) {
  if (!dir_or_empty.empty()) return from_lists(dir_or_empty);
  require(std::filesystem::exists(std::string(kWordNetDir) + "/index.adj"),
          "no key word lists: install the Debian package wordnet-base (scripts/setup.sh) or pass --words DIR "
          "with adjectives.txt and nouns.txt");
  return from_wordnet();
}

std::string KeyWords::draw(Rng& rng) const {
  const std::string& adj = adjectives_[rng.below(adjectives_.size())];
  const std::string& noun = nouns_[rng.below(nouns_.size())];
  return adj + "-" + noun;
}

}  // namespace ratkv::niah
