#include "niah/generator.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"
#include "base/rng.h"
#include "niah/prompt_template.h"
#include "niah/random_values.h"

namespace ratkv::niah {

struct NiahGenerator::Draws {
  uint64_t sample_seed = 0;
  std::vector<std::string> needles;  // shuffled
  std::vector<std::string> keys, queries, answers;
  std::vector<int> depths;                       // essay: one per needle, draw order
  mutable std::vector<std::string> distractors;  // needle haystack: grows on demand from its own stream
  mutable Rng distractor_rng{0};
};

const std::vector<int>& NiahGenerator::depths() {
  static const std::vector<int> d = [] {
    std::vector<int> v;
    for (int i = 0; i < 40; ++i) v.push_back(static_cast<int>(std::nearbyint(100.0 * i / 39.0)));
    return v;
  }();
  return d;
}

NiahGenerator::NiahGenerator(const TaskSpec& task, const GeneratorOptions& options,
                             const GeneratorSources& sources, Encoder encode)
    : task_(task), options_(options), sources_(sources), encode_(std::move(encode)) {
  require(options_.max_seq_length > 0 && options_.tokens_to_generate >= 0, "bad NIAH length settings");
  if (task_.haystack == HaystackKind::Essay)
    require(sources_.essay && !sources_.essay->empty(), task_.name, " needs an essay haystack");
  if (task_.key == NeedleKind::Words || task_.value == NeedleKind::Words)
    require(sources_.words != nullptr, task_.name, " needs key word lists");
  template_ = full_template(options_.chat_template, task_.singular());
  type_needle_v_ = needle_kind_plural(task_.value);
  if (task_.singular()) type_needle_v_.pop_back();
  min_units_ = task_.haystack == HaystackKind::Essay ? 1 : task_.num_needles();
  // Tokens per haystack unit, from sample 0 at two sizes: it only steers the search, the fit is exact.
  const Draws d = draw(0);
  const int64_t probe = task_.haystack == HaystackKind::Essay ? 500 : 25;
  const int64_t c0 = count(prompt(d, min_units_)), c1 = count(prompt(d, min_units_ + probe));
  tokens_per_unit_ = std::max(0.25, static_cast<double>(c1 - c0) / static_cast<double>(probe));
}

std::string NiahGenerator::draw_fresh(NeedleKind kind, Rng& rng,
                                      const std::unordered_set<std::string>& avoid) const {
  for (int attempt = 0; attempt < 10000; ++attempt) {
    std::string v = random_value(kind, rng, *sources_.words);
    if (avoid.count(v) || (sources_.excluded && sources_.excluded->count(v))) continue;
    return v;
  }
  fail(task_.name, ": cannot draw a fresh key or value (word lists too small for the exclusions?)");
}

NiahGenerator::Draws NiahGenerator::draw(int64_t index) const {
  Draws d;
  d.sample_seed = mix_seed(options_.seed, task_.name, options_.max_seq_length, index);
  Rng rng(d.sample_seed);
  const std::string plural = needle_kind_plural(task_.value);
  std::unordered_set<std::string> used;
  std::vector<std::vector<std::string>> values(static_cast<size_t>(task_.num_keys));
  // niah.py's order: key 0, its values, key 1, ... Keys are kept distinct (RULER does not check; a repeated
  // key would make the question ambiguous).
  for (int k = 0; k < task_.num_keys; ++k) {
    d.keys.push_back(draw_fresh(task_.key, rng, used));
    used.insert(d.keys.back());
    for (int v = 0; v < task_.num_values; ++v) {
      values[k].push_back(draw_fresh(task_.value, rng, {}));
      d.needles.push_back(needle_sentence(plural, d.keys[k], values[k].back()));
    }
  }
  // RULER shuffles with a fresh Random(seed) on every call: the same permutation for every sample.
  Rng shuffle_rng(options_.seed);
  shuffle(d.needles, shuffle_rng);
  if (task_.haystack == HaystackKind::Essay)
    for (int64_t i : sample_indices(rng, static_cast<int64_t>(depths().size()), task_.num_needles()))
      d.depths.push_back(depths()[static_cast<size_t>(i)]);
  for (int64_t i : sample_indices(rng, task_.num_keys, task_.num_queries)) {
    d.queries.push_back(d.keys[static_cast<size_t>(i)]);
    for (const auto& v : values[static_cast<size_t>(i)]) d.answers.push_back(v);
  }
  d.distractor_rng = Rng(mix_seed(d.sample_seed, "distractors", 0, 0));
  return d;
}

std::string NiahGenerator::context(const Draws& d, int64_t n) const {
  const auto& needles = d.needles;
  if (task_.haystack == HaystackKind::Essay) {
    const EssayCorpus& essay = *sources_.essay;
    const auto sents = essay.sentences(n);
    const int64_t ns = static_cast<int64_t>(sents.size());
    std::vector<int64_t> pos;
    for (int depth : d.depths) pos.push_back(static_cast<int64_t>(static_cast<double>(ns) * (depth / 100.0)));
    std::sort(pos.begin(), pos.end());
    pos.insert(pos.begin(), 0);
    pos.push_back(ns);
    std::string out;
    for (size_t i = 1; i < pos.size(); ++i) {
      // " ".join(sentences[pos[i-1]:pos[i]]): empty segments stay in as "", as in RULER.
      std::string seg =
          pos[i] > pos[i - 1] ? essay.join(sents[pos[i - 1]].first, sents[pos[i] - 1].second) : "";
      out += (i > 1 ? " " : "") + seg;
      if (i - 1 < needles.size()) out += " " + needles[i - 1];
    }
    return out;
  }
  std::vector<std::string> lines;
  if (task_.haystack == HaystackKind::Noise) {
    lines.assign(static_cast<size_t>(n), kNoiseUnit);
  } else {
    std::unordered_set<std::string> needle_keys(d.keys.begin(), d.keys.end());
    const std::string plural = needle_kind_plural(task_.value);
    while (static_cast<int64_t>(d.distractors.size()) < n) {
      // Key then value per line, as niah.py; a key equal to a real one is redrawn, and so is any key or
      // value of the exclusion set (the train split's distractors must not carry evaluation values
      // either). Without exclusions draw_fresh takes the first draw, so evaluation prompts are unchanged.
      const std::string key = draw_fresh(task_.key, d.distractor_rng, needle_keys);
      d.distractors.push_back(needle_sentence(plural, key, draw_fresh(task_.value, d.distractor_rng, {})));
    }
    lines.assign(d.distractors.begin(), d.distractors.begin() + n);
  }
  // sorted(random.sample(range(n), k), reverse=True), then insert needles[i] at indexes[i].
  Rng insert_rng(mix_seed(d.sample_seed, "insert", n, 0));
  auto indexes = sample_indices(insert_rng, n, static_cast<int64_t>(needles.size()));
  std::sort(indexes.rbegin(), indexes.rend());
  for (size_t i = 0; i < indexes.size(); ++i) lines.insert(lines.begin() + indexes[i], needles[i]);
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) out += (i ? "\n" : "") + lines[i];
  return out;
}

std::string NiahGenerator::prompt(const Draws& d, int64_t n) const {
  return fill_fields(
      template_,
      {{"type_needle_v", type_needle_v_}, {"context", context(d, n)}, {"query", join_queries(d.queries)}});
}

NiahSample NiahGenerator::generate(int64_t index) const {
  const Draws d = draw(index);
  const int64_t target =
      options_.max_seq_length - options_.model_template_token - options_.tokens_to_generate;
  int64_t lo = min_units_;
  std::string best = prompt(d, lo);
  int64_t best_count = count(best);
  require(best_count <= target, task_.name, ": a prompt with the smallest haystack has ", best_count,
          " tokens, more than the ", target, " available at length ", options_.max_seq_length);
  int64_t hi = -1;  // smallest size known not to fit; -1 while unknown
  int64_t n = lo + std::max<int64_t>(1, static_cast<int64_t>((target - best_count) / tokens_per_unit_));
  for (int iter = 0; iter < 64 && (hi < 0 || hi > lo + 1); ++iter) {
    if (n <= lo || (hi >= 0 && n >= hi)) n = hi < 0 ? lo + 1 : lo + (hi - lo) / 2;
    std::string p = prompt(d, n);
    const int64_t c = count(p);
    if (c <= target) {
      lo = n;
      best = std::move(p);
      best_count = c;
      n = lo + std::max<int64_t>(1, static_cast<int64_t>(std::floor((target - c) / tokens_per_unit_)));
    } else {
      hi = n;
      n = hi - std::max<int64_t>(1, static_cast<int64_t>(std::ceil((c - target) / tokens_per_unit_)));
    }
  }
  NiahSample s;
  s.index = index;
  s.task = task_.name;
  s.max_seq_length = options_.max_seq_length;
  s.seed = options_.seed;
  s.haystack_size = lo;
  s.outputs = d.answers;
  s.keys = d.queries;
  s.length = best_count + options_.tokens_to_generate;
  s.length_w_model_temp = s.length + options_.model_template_token;
  if (options_.remove_newline_tab) {
    std::string collapsed;
    for (size_t i = 0; i < best.size();) {
      if (std::isspace(static_cast<unsigned char>(best[i]))) {
        while (i < best.size() && std::isspace(static_cast<unsigned char>(best[i]))) ++i;
        if (!collapsed.empty() && i < best.size()) collapsed += ' ';
      } else {
        collapsed += best[i++];
      }
    }
    best = collapsed;
  }
  split_answer_prefix(best, &s.input, &s.answer_prefix);
  const size_t at = s.input.find(s.outputs.front());
  s.token_position_answer = at == std::string::npos ? -1 : count(s.input.substr(0, at));
  return s;
}

}  // namespace ratkv::niah
