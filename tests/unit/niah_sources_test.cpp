// NIAH sources and scoring: word lists, haystack markup and sentences, the default source list, the scorer
// and the train split's disjointness.
#include <gtest/gtest.h>

#include <filesystem>

#include "niah/default_sources.h"
#include "niah/essay_corpus.h"
#include "niah/generator.h"
#include "niah/markup.h"
#include "niah/scorer.h"
#include "niah/text_source.h"
#include "niah/train_split.h"
#include "niah_test_util.h"

namespace ratkv::niah {
namespace {

TEST(NiahScorer, StringMatchAllAsRuler) {
  EXPECT_DOUBLE_EQ(string_match_all(" 1234567.", {"1234567"}), 100.0);
  EXPECT_DOUBLE_EQ(string_match_all("none here", {"1234567"}), 0.0);
  // Partial credit, any order.
  EXPECT_DOUBLE_EQ(
      string_match_all("4444444, 1111111 and 3333333", {"1111111", "2222222", "3333333", "4444444"}), 75.0);
  // Case-insensitive containment (uuids, word values).
  EXPECT_DOUBLE_EQ(
      string_match_all("BDD640FB-0667-4AD1-9C80-317FA3B1799D", {"bdd640fb-0667-4ad1-9c80-317fa3b1799d"}),
      100.0);
  EXPECT_DOUBLE_EQ(string_match_all("Tenuous-Thirst", {"tenuous-thirst"}), 100.0);
  // Control characters become newlines, so a value split by one is not found; substrings count.
  EXPECT_DOUBLE_EQ(string_match_all("123\x01"
                                    "4567",
                                    {"1234567"}),
                   0.0);
  EXPECT_DOUBLE_EQ(string_match_all("91234567", {"1234567"}), 100.0);
  EXPECT_EQ(postprocess_prediction("  a\tb\x02 "), "a\nb");
}

TEST(NiahWords, ListsAndWordNet) {
  const std::string shared = std::string(RATKV_SOURCE_DIR) + "/../shared/data/wordlists";
  if (std::filesystem::exists(shared + "/nouns.txt")) {
    const KeyWords w = KeyWords::from_lists(shared);
    EXPECT_EQ(w.adjectives().size(), 910u);  // wonderwords 3.0.0: 912 lines, "wet" and "nasty" twice
    EXPECT_EQ(w.nouns().size(), 6782u);
  }
  if (!std::filesystem::exists(std::string(kWordNetDir) + "/index.adj"))
    GTEST_SKIP() << "wordnet-base not installed";
  const KeyWords w = KeyWords::from_wordnet();
  EXPECT_GT(w.adjectives().size(), 800u);
  EXPECT_LT(w.adjectives().size(), 1300u);
  EXPECT_GT(w.nouns().size(), 6000u);
  Rng rng(3);
  const std::string key = w.draw(rng);
  const size_t dash = key.find('-');
  ASSERT_NE(dash, std::string::npos);
  EXPECT_TRUE(std::binary_search(w.adjectives().begin(), w.adjectives().end(), key.substr(0, dash)));
  EXPECT_TRUE(std::binary_search(w.nouns().begin(), w.nouns().end(), key.substr(dash + 1)));
}

TEST(NiahEssay, RstBecomesProse) {
  const std::string rst =
      ".. _label:\n\nA title\n=======\n\nFirst paragraph with ``code`` and :ref:`a link <target>`\nthat "
      "continues [#f1]_ here. See `the site <http://x>`_ too::\n\n    int literal_block;\n\n- A bullet\n  "
      "item.\n\n.. note::\n   Dropped directive body.\n\n\tindented table\n\nLast *one*.\n";
  const std::string text = rst_to_text(rst);
  EXPECT_EQ(
      text,
      "First paragraph with code and a link that continues  here. See the site too:\n\nA bullet item.\n\n"
      "Last one.\n\n");
}

TEST(NiahEssay, SentenceBoundaries) {
  EXPECT_TRUE(sentence_boundary("end.", "The"));
  EXPECT_TRUE(sentence_boundary("why?\"", "Because"));
  EXPECT_FALSE(sentence_boundary("Dr.", "Smith"));
  EXPECT_FALSE(sentence_boundary("e.g.", "Linux"));
  EXPECT_FALSE(sentence_boundary("J.", "Corbet"));
  EXPECT_FALSE(sentence_boundary("end.", "lowercase"));
  EXPECT_FALSE(sentence_boundary("word", "The"));
  const EssayCorpus c = EssayCorpus::from_text("One two.  Three\nfour! Five");
  EXPECT_EQ(c.num_words(), 5);
  const auto s =
      c.sentences(7);  // repeats: One two. | Three four! | Five | One two.(cut: "One")... wait on wrap
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(c.join(s[0].first, s[0].second), "One two.");
  EXPECT_EQ(c.join(s[2].first, s[2].second), "Five");  // the corpus end is a boundary when repeating
  EXPECT_EQ(c.join(s[3].first, s[3].second), "One two.");
}

TEST(NiahEssay, DefaultSourceListsMatchDataFiles) {
  for (auto [file, split] :
       {std::pair{"essay_sources.txt", Split::Eval}, {"essay_sources_train.txt", Split::Train}}) {
    const std::string path = std::string(RATKV_SOURCE_DIR) + "/data/" + file;
    EXPECT_EQ(parse_source_list(read_text_file(path)), default_essay_sources(split)) << file;
  }
  // The splits share no file.
  for (const auto& a : default_essay_sources(Split::Eval))
    for (const auto& b : default_essay_sources(Split::Train)) EXPECT_NE(a, b);
  if (!std::filesystem::exists(default_essay_sources(Split::Eval)[0]))
    GTEST_SKIP() << "linux-doc-6.1 not installed";
  const EssayCorpus c = EssayCorpus::from_files(haystack_files("", Split::Eval));
  EXPECT_GT(c.num_words(), 15000);
  const std::string start = c.join(0, 12);
  EXPECT_EQ(start.find(".."), std::string::npos) << start;
  EXPECT_EQ(c.text().find("``"), std::string::npos);
  EXPECT_EQ(c.text().find(":ref:"), std::string::npos);
}

TEST(NiahTrainSplit, ExcludedKeysAndCheck) {
  std::string text;
  for (int i = 0; i < 200; ++i) text += "Sentence number " + std::to_string(i) + " is here. ";
  const EssayCorpus essay = EssayCorpus::from_text(text);
  // Small lists make collisions likely, so the exclusion is really exercised.
  const KeyWords words = KeyWords::from_vectors({"red", "blue", "green", "pale", "odd", "shy"},
                                                {"cat", "dog", "owl", "ant", "bee", "elk", "fox", "yak"});
  GeneratorOptions o;
  o.max_seq_length = 600;
  std::vector<NiahSample> eval_samples, train_samples;
  for (const char* task : {"niah_multikey_1", "niah_single_2"}) {
    NiahGenerator g(find_task(task), o, {&essay, &words, nullptr}, testing::toy_encode);
    for (int i = 0; i < 3; ++i) eval_samples.push_back(g.generate(i));
  }
  EXPECT_FALSE(check_disjoint(eval_samples, eval_samples).ok());
  const auto excluded = needle_keys_and_values(eval_samples);
  EXPECT_GE(excluded.size(), 10u);
  o.seed = default_seed(Split::Train);
  for (const char* task : {"niah_multikey_1", "niah_single_2"}) {
    NiahGenerator g(find_task(task), o, {&essay, &words, &excluded}, testing::toy_encode);
    for (int i = 0; i < 3; ++i) train_samples.push_back(g.generate(i));
  }
  const DisjointReport r = check_disjoint(eval_samples, train_samples);
  EXPECT_TRUE(r.ok()) << (r.examples.empty() ? "" : r.examples[0]);
  EXPECT_EQ(r.train_samples, 6);
  EXPECT_EQ(
      find_needles("x One of the special magic uuids for a b-c is: 1f.\nOne of the special magic numbers for "
                   "k is: 7.")
          .size(),
      2u);
}

// The distractor lines of MK-2/MK-3 draw keys and values too: an excluded value must not come back there.
TEST(NiahTrainSplit, DistractorValuesHonourTheExclusions) {
  const KeyWords words = KeyWords::from_vectors({"red", "blue", "green", "pale", "odd", "shy", "tall", "dim"},
                                                {"cat", "dog", "owl", "ant", "bee", "elk", "fox", "yak"});
  GeneratorOptions o;
  o.max_seq_length = 900;
  o.seed = default_seed(Split::Train);
  const TaskSpec& task = find_task("niah_multikey_2");
  std::unordered_set<std::string> values;
  {
    NiahGenerator g(task, o, {nullptr, &words, nullptr}, testing::toy_encode);
    for (const auto& n : find_needles(g.generate(0).input)) values.insert(n.value);
  }
  ASSERT_GE(values.size(), 10u) << "distractor lines expected";
  NiahGenerator g(task, o, {nullptr, &words, &values}, testing::toy_encode);
  const NiahSample s = g.generate(0);
  const auto needles = find_needles(s.input);
  EXPECT_GE(needles.size(), 10u);
  for (const auto& n : needles) EXPECT_EQ(values.count(n.value), 0u) << n.sentence;
}

}  // namespace
}  // namespace ratkv::niah
