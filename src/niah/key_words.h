#pragma once
// The adjective and noun lists that word keys ("adjective-noun") are drawn from. RULER uses wonderwords'
// adjectivelist.txt / nounlist.txt; by default ratkv derives comparable lists from WordNet (Debian package
// wordnet-base, installed by scripts/setup.sh): single lowercase words of 3-12 letters, adjectives with at
// least 2 and nouns with at least 1 sense tagged in SemCor (a frequency filter that keeps common words, about
// 1,000 adjectives and 8,800 nouns — close to wonderwords' 910 and 6,782). docs/niah.md has the details.
#include <cstdint>
#include <string>
#include <vector>

#include "base/rng.h"

namespace ratkv::niah {

inline constexpr const char* kWordNetDir = "/usr/share/wordnet";

class KeyWords {
 public:
  // A directory with adjectives.txt and nouns.txt (one word per line, wonderwords' format; lines are
  // right-stripped, duplicates dropped).
  static KeyWords from_lists(const std::string& dir);
  // WordNet's index.adj / index.noun in `dir`, filtered as described above.
  static KeyWords from_wordnet(const std::string& dir = kWordNetDir);
  // --words DIR if given, else WordNet; fails with a message saying how to install either.
  static KeyWords load(const std::string& dir_or_empty);
  static KeyWords from_vectors(std::vector<std::string> adjectives, std::vector<std::string> nouns);

  // One uniform "adjective-noun" key. RULER draws uniformly from the sorted set of all pairs; drawing the two
  // halves independently is the same distribution (the pairs are distinct once each list is deduplicated).
  std::string draw(Rng& rng) const;

  const std::vector<std::string>& adjectives() const { return adjectives_; }
  const std::vector<std::string>& nouns() const { return nouns_; }
  std::string origin() const { return origin_; }

 private:
  std::vector<std::string> adjectives_, nouns_;
  std::string origin_;
};

// Parses one WordNet index file; keeps lemmas of [a-z]{3,12} with tagsense_cnt >= min_tagged.
std::vector<std::string> read_wordnet_index(const std::string& path, int64_t min_tagged);

}  // namespace ratkv::niah
