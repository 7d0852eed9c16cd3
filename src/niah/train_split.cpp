#include "niah/train_split.h"

namespace ratkv::niah {

std::vector<ParsedNeedle> find_needles(const std::string& text) {
  static const std::string head = "One of the special magic ";
  std::vector<ParsedNeedle> out;
  for (size_t at = text.find(head); at != std::string::npos; at = text.find(head, at + 1)) {
    const size_t kind_end = text.find(' ', at + head.size());
    if (kind_end == std::string::npos || text.compare(kind_end, 5, " for ") != 0) continue;
    const size_t key_begin = kind_end + 5;
    const size_t is = text.find(" is: ", key_begin);
    if (is == std::string::npos) continue;
    const size_t value_begin = is + 5;
    // Values are numbers, uuids or words: they end at the sentence's final period before a space, newline
    // or the end of the text.
    size_t value_end = value_begin;
    while (value_end < text.size() &&
           !(text[value_end] == '.' &&
             (value_end + 1 == text.size() || text[value_end + 1] == ' ' || text[value_end + 1] == '\n')))
      ++value_end;
    if (value_end >= text.size()) continue;
    ParsedNeedle n;
    n.key = text.substr(key_begin, is - key_begin);
    n.value = text.substr(value_begin, value_end - value_begin);
    n.sentence = text.substr(at, value_end + 1 - at);
    out.push_back(std::move(n));
  }
  return out;
}

std::unordered_set<std::string> needle_keys_and_values(const std::vector<NiahSample>& samples) {
  std::unordered_set<std::string> out;
  for (const auto& s : samples) {
    for (const auto& n : find_needles(s.input)) {
      out.insert(n.key);
      out.insert(n.value);
    }
    for (const auto& o : s.outputs) out.insert(o);
  }
  return out;
}

DisjointReport check_disjoint(const std::vector<NiahSample>& eval, const std::vector<NiahSample>& train) {
  DisjointReport r;
  r.train_samples = static_cast<int64_t>(train.size());
  std::unordered_set<std::string> eval_keys, eval_values, gold_sentences;
  for (const auto& s : eval) {
    for (const auto& n : find_needles(s.input)) {
      eval_keys.insert(n.key);
      eval_values.insert(n.value);
      ++r.eval_needles;
      for (const auto& o : s.outputs)
        if (n.value == o) gold_sentences.insert(n.sentence);
    }
  }
  auto note = [&r](const std::string& what) {
    if (r.examples.size() < 5) r.examples.push_back(what);
  };
  for (const auto& s : train) {
    for (const auto& n : find_needles(s.input)) {
      if (eval_keys.count(n.key)) ++r.shared_keys, note("key " + n.key);
      if (eval_values.count(n.value)) ++r.shared_values, note("value " + n.value);
      // A gold sentence inside a train prompt parses as one of its needles, so a set lookup finds it.
      if (gold_sentences.count(n.sentence)) ++r.shared_sentences, note(n.sentence);
    }
  }
  return r;
}

}  // namespace ratkv::niah
