#pragma once
// RULER's NIAH sample generator (niah.py's generate_input_output + generate_samples), re-derived for ratkv:
//  - every sample's draws come from its own stream, seeded by (seed, task, length, index), so a sample is
//    the same whatever the order, count or shard of generation (RULER threads one global RNG through its
//    length-fitting probes instead, which makes samples depend on the tokenizer);
//  - each prompt is fitted on its own to the target: the largest haystack size n (words, noise units or
//    distractor lines) with tokens(prompt) + tokens_to_generate <= max_seq_length, found by a secant search
//    on exact token counts that falls back to bisection (3-6 tokenizations a sample). The result is the
//    tightest fit, so the prompt is short of the target by less than one haystack unit (docs/niah.md).
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "base/rng.h"
#include "niah/essay_corpus.h"
#include "niah/key_words.h"
#include "niah/task_spec.h"

namespace ratkv::niah {

// Text → token ids without special tokens (what RULER counts).
using Encoder = std::function<std::vector<int32_t>(std::string_view)>;

struct GeneratorOptions {
  int64_t max_seq_length = 4096;
  int64_t tokens_to_generate = 128;
  uint64_t seed = 42;
  std::string chat_template = "base";
  int64_t model_template_token = 0;  // subtracted from the budget (RULER --model_template_token)
  bool remove_newline_tab = false;   // RULER's option: collapse all whitespace after fitting
};

// One sample in RULER's record layout, plus ratkv's own fields (RULER's tools ignore extra keys).
struct NiahSample {
  int64_t index = 0;
  std::string input, answer_prefix;
  std::vector<std::string> outputs;
  int64_t length = 0;  // tokens(input + answer_prefix) + tokens_to_generate
  int64_t length_w_model_temp = 0;
  int64_t token_position_answer = -1;
  // ratkv extras; absent from files made by RULER.
  std::string task;
  int64_t max_seq_length = 0;
  uint64_t seed = 0;
  int64_t haystack_size = -1;     // n: words, noise units or distractor lines
  std::vector<std::string> keys;  // the queried keys

  std::string prompt() const { return input + answer_prefix; }
};

struct GeneratorSources {
  const EssayCorpus* essay = nullptr;  // needed by essay tasks
  const KeyWords* words = nullptr;     // needed by word keys and values
  // Keys and values never to draw (the train split excludes every evaluation key and value).
  const std::unordered_set<std::string>* excluded = nullptr;
};

class NiahGenerator {
 public:
  NiahGenerator(const TaskSpec& task, const GeneratorOptions& options, const GeneratorSources& sources,
                Encoder encode);

  NiahSample generate(int64_t index) const;
  const TaskSpec& task() const { return task_; }
  const GeneratorOptions& options() const { return options_; }

  // The 40 RULER insertion depths, round(linspace(0, 100, 40)).
  static const std::vector<int>& depths();

 private:
  struct Draws;
  Draws draw(int64_t index) const;
  std::string context(const Draws& d, int64_t n) const;
  std::string prompt(const Draws& d, int64_t n) const;
  int64_t count(const std::string& text) const { return static_cast<int64_t>(encode_(text).size()); }
  std::string draw_fresh(NeedleKind kind, Rng& rng, const std::unordered_set<std::string>& avoid) const;

  TaskSpec task_;
  GeneratorOptions options_;
  GeneratorSources sources_;
  Encoder encode_;
  std::string template_;       // chat template + task template + answer prefix, singular rewrite applied
  std::string type_needle_v_;  // singular or plural, for the template
  int64_t min_units_ = 1;
  double tokens_per_unit_ = 1.0;  // measured once on sample 0, steers the search
};

}  // namespace ratkv::niah
