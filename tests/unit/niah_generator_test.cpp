// The NIAH generator: RULER's strings and rewrites, determinism, length fitting, record round trip.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "niah/generator.h"
#include "niah/prompt_template.h"
#include "niah/random_values.h"
#include "niah/ruler_jsonl.h"
#include "niah_test_util.h"
#include "test_util.h"

namespace ratkv::niah {
namespace {

EssayCorpus test_essay() {
  std::string text;
  for (int i = 0; i < 400; ++i)
    text += "Paragraph " + std::to_string(i) +
            " talks about kernels, patches and reviews. Developers send "
            "patches to maintainers who review them carefully. Dr. Smith disagrees, e.g. about timing.\n\n";
  return EssayCorpus::from_text(text);
}

KeyWords test_words() {
  return KeyWords::from_vectors({"ad hoc", "Early", "green", "tenuous", "quick"},
                                {"thirst", "contact lens", "turnover", "brother-in-law", "dog", "cat"});
}

struct Fixture {
  EssayCorpus essay = test_essay();
  KeyWords words = test_words();
  NiahGenerator make(const std::string& task, int64_t length = 1024, uint64_t seed = 42) {
    GeneratorOptions o;
    o.max_seq_length = length;
    o.tokens_to_generate = 128;
    o.seed = seed;
    return NiahGenerator(find_task(task), o, {&essay, &words, nullptr}, testing::toy_encode);
  }
};

TEST(NiahTemplates, SingularRewriteAndChatTemplates) {
  const std::string single = full_template("base", true);
  EXPECT_EQ(
      fill_fields(single, {{"type_needle_v", "number"}, {"context", "CTX"}, {"query", "k"}}),
      "A special magic number is hidden within the following text. Make sure to memorize it. I will quiz you "
      "about the number afterwards.\nCTX\nWhat is the special magic number for k mentioned in the provided "
      "text? The special magic number for k mentioned in the provided text is");
  EXPECT_NE(full_template("base", false).find("What are all the special magic {type_needle_v}"),
            std::string::npos);
  // RULER's side effect: the rewrite reaches the chat template too.
  EXPECT_EQ(full_template("lwm-chat", true).rfind("You is a helpful assistant.", 0), 0u);
  EXPECT_NE(full_template("vicuna-chat", true).find("polite answer to the user's questions"),
            std::string::npos);
  EXPECT_THROW(chat_template("nope"), Error);
}

TEST(NiahTemplates, QueryJoinNeedleAndPrefixSplit) {
  EXPECT_EQ(join_queries({"a"}), "a");
  EXPECT_EQ(join_queries({"a", "b"}), "a, and b");
  EXPECT_EQ(join_queries({"a", "b", "c", "d"}), "a, b, c, and d");
  EXPECT_EQ(needle_sentence("numbers", "tenuous-thirst", "2867825"),
            "One of the special magic numbers for tenuous-thirst is: 2867825.");
  std::string input, prefix;
  split_answer_prefix(
      "Q? The special magic x. The special magic number for k mentioned in the provided text is", &input,
      &prefix);
  EXPECT_EQ(input, "Q? The special magic x.");
  EXPECT_EQ(prefix, " The special magic number for k mentioned in the provided text is");
}

TEST(NiahValues, UuidNumberDepthsAndSampling) {
  Rng rng(1);
  const std::regex uuid("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  for (int i = 0; i < 200; ++i) {
    const std::string u = random_uuid(rng);
    ASSERT_TRUE(std::regex_match(u, uuid)) << u;
    const std::string n = random_number(rng);
    ASSERT_EQ(n.size(), 7u);
    ASSERT_NE(n[0], '0');
  }
  const std::vector<int> ruler = {0,  3,  5,  8,  10, 13, 15, 18, 21, 23, 26, 28, 31, 33,
                                  36, 38, 41, 44, 46, 49, 51, 54, 56, 59, 62, 64, 67, 69,
                                  72, 74, 77, 79, 82, 85, 87, 90, 92, 95, 97, 100};
  EXPECT_EQ(NiahGenerator::depths(), ruler);
  auto s = sample_indices(rng, 40, 40);
  std::sort(s.begin(), s.end());
  for (int i = 0; i < 40; ++i) EXPECT_EQ(s[i], i);
}

TEST(NiahGenerator, DeterministicPerSampleWhateverTheOrder) {
  Fixture f;
  for (const auto& task : niah_tasks()) {
    const auto g1 = f.make(task.name), g2 = f.make(task.name);
    const NiahSample b5 = g2.generate(5);
    const NiahSample a5 = g1.generate(5);
    g1.generate(0);
    EXPECT_EQ(sample_to_json_line(a5), sample_to_json_line(b5)) << task.name;
    EXPECT_NE(g1.generate(6).input, a5.input) << task.name;
    EXPECT_NE(f.make(task.name, 1024, 7).generate(5).input, a5.input) << task.name;
  }
}

TEST(NiahGenerator, PromptsHitTheTargetLengthAndHoldTheAnswers) {
  Fixture f;
  for (int64_t length : {512, 1024, 2048}) {
    for (const auto& task : niah_tasks()) {
      const auto gen = f.make(task.name, length);
      for (int64_t i = 0; i < 3; ++i) {
        const NiahSample s = gen.generate(i);
        const int64_t tokens = static_cast<int64_t>(testing::toy_encode(s.prompt()).size());
        ASSERT_EQ(s.length, tokens + 128);
        ASSERT_LE(s.length, length) << task.name;
        // Documented tolerance: short of the target by less than one haystack unit (a word; a noise unit of
        // 25 toy tokens; a distractor line of at most ~30).
        const int64_t unit = task.haystack == HaystackKind::Essay ? 4 : 32;
        ASSERT_GT(s.length, length - unit) << task.name << " sample " << i;
        ASSERT_EQ(static_cast<int>(s.outputs.size()), task.num_queries * task.num_values);
        for (const auto& o : s.outputs) ASSERT_NE(s.input.find("is: " + o + "."), std::string::npos) << o;
        for (const auto& k : s.keys) ASSERT_NE(s.answer_prefix.find(k), std::string::npos);
        const bool singular = task.singular();
        ASSERT_EQ(s.input.rfind(singular ? "A special magic" : "Some special magic", 0), 0u);
        ASSERT_EQ(s.answer_prefix.substr(s.answer_prefix.size() - 3), singular ? " is" : "are");
        ASSERT_GE(s.token_position_answer, 0);
      }
    }
  }
}

TEST(NiahGenerator, EssayNeedlesSitOnSentenceBoundaries) {
  Fixture f;
  const NiahSample s = f.make("niah_multikey_1", 2048).generate(2);
  size_t count = 0;
  for (size_t at = s.input.find("One of the special"); at != std::string::npos;
       at = s.input.find("One of the special", at + 1), ++count) {
    // After a sentence's end (or the template's newline, or another needle), or at depth 100 after the last,
    // possibly cut, sentence — as RULER places them.
    const std::string before = s.input.substr(at - 2, 2);
    const size_t end = s.input.find('.', at);
    const bool last =
        s.input.compare(end + 1, 6, " \nWhat") == 0 || s.input.compare(end + 1, 5, "\nWhat") == 0;
    EXPECT_TRUE(before == ". " || before == "\n " || before == "  " || last) << before;
  }
  EXPECT_EQ(count, 4u);
}

TEST(NiahGenerator, TooShortTargetFails) {
  Fixture f;
  EXPECT_THROW(f.make("niah_single_2", 150).generate(0), Error);
}

TEST(NiahJsonl, RoundTripAndRulerFiles) {
  Fixture f;
  const auto gen = f.make("niah_multivalue");
  std::vector<NiahSample> samples = {gen.generate(0), gen.generate(1)};
  const std::string dir = ratkv::testing::temp_dir("jsonl");
  const std::string path = task_file(dir, "niah_multivalue");
  write_samples(path, samples);
  const auto back = read_samples(path);
  ASSERT_EQ(back.size(), 2u);
  for (size_t i = 0; i < 2; ++i) EXPECT_EQ(sample_to_json_line(back[i]), sample_to_json_line(samples[i]));
  // A line as RULER writes it: index is the answer's character offset, no ratkv fields, non-ASCII escaped.
  const std::string ruler =
      R"({"index": 187, "input": "A special magic number is hidden... jalape\u00f1o-dog ...", "outputs": ["2867825"], )"
      R"("length": 3968, "length_w_model_temp": 3968, "answer_prefix": " The special magic number for jalape\u00f1o-dog )"
      R"(mentioned in the provided text is", "token_position_answer": 52})";
  const NiahSample r = sample_from_json_line(ruler, "ruler.jsonl:1", 0);
  EXPECT_EQ(r.index, 0);
  EXPECT_EQ(r.outputs, std::vector<std::string>{"2867825"});
  EXPECT_NE(r.answer_prefix.find("jalape\xc3\xb1o-dog"), std::string::npos);
  EXPECT_EQ(r.length, 3968);
  EXPECT_NE(sample_to_json_line(r).find("\\u00f1"), std::string::npos);  // ensure_ascii on write
  EXPECT_THROW(sample_from_json_line(R"({"input": "x"})", "bad", 0), Error);
}

}  // namespace
}  // namespace ratkv::niah
