#pragma once
// Keeping the fine-tuning split apart from the evaluation split. The train split differs in seed (default
// 20240917 vs RULER's 42), in haystack text (data/essay_sources_train.txt, files disjoint from the evaluation
// ones) and in keys: every key and value of an evaluation needle — real or distractor — is excluded from the
// train generator's draws. check_disjoint() then verifies that no evaluation needle sentence, key or value
// appears in any train prompt.
#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

#include "niah/generator.h"

namespace ratkv::niah {

struct ParsedNeedle {
  std::string sentence, key, value;
};

// Every needle sentence ("One of the special magic X for KEY is: VALUE.") in a prompt.
std::vector<ParsedNeedle> find_needles(const std::string& text);

// Keys and values of every needle in the samples.
std::unordered_set<std::string> needle_keys_and_values(const std::vector<NiahSample>& samples);

struct DisjointReport {
  int64_t train_samples = 0, eval_needles = 0;
  int64_t shared_sentences = 0, shared_keys = 0, shared_values = 0;
  std::vector<std::string> examples;  // a few offending strings
  bool ok() const { return shared_sentences == 0 && shared_keys == 0 && shared_values == 0; }
};

// Keys, values and gold needle sentences of `eval` against every needle found in the train prompts (a gold
// sentence inside a train prompt is found as one of its needles).
DisjointReport check_disjoint(const std::vector<NiahSample>& eval, const std::vector<NiahSample>& train);

}  // namespace ratkv::niah
