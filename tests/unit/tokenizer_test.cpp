// Parity of ratkv's tokenizers with the reference (Hugging Face tokenizers, through its npm Node
// bindings; see tools/fixtures/make_tokenizer_fixtures.mjs) on the committed corpus, plus the
// documented cases of the Llama-2 and OLMo2 tokenizers.
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/error.h"
#include "base/mapped_file.h"

namespace ratkv {
namespace {

using Ids = std::vector<int32_t>;

const std::string kFixtureDir = RATKV_SOURCE_DIR "/tests/fixtures/tokenizer/";
const std::string kSharedDir = RATKV_SOURCE_DIR "/../shared/data/tokenizers/";

// The full tokenizer files live outside the repository; tests that need them skip without them.
const Tokenizer* shared_tokenizer(const std::string& file) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> loaded;
  auto it = loaded.find(file);
  if (it == loaded.end()) {
    std::string path = kSharedDir + file;
    it = loaded.emplace(file, file_exists(path) ? Tokenizer::load(path) : nullptr).first;
  }
  return it->second.get();
}

#define REQUIRE_SHARED(var, file)                                                \
  const Tokenizer* var = shared_tokenizer(file);                                 \
  if (var == nullptr)                                                            \
  GTEST_SKIP() << kSharedDir << file << " is missing; the full-vocabulary test " \
               << "needs ../shared/data/tokenizers next to the repository"

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::istringstream in(read_text_file(path));
  std::vector<nlohmann::json> rows;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) rows.push_back(nlohmann::json::parse(line));
  }
  return rows;
}

std::string show(const Ids& ids) {
  std::string s = "[";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) s += ',';
    s += std::to_string(ids[i]);
  }
  return s + "]";
}

// Compares one tokenizer against the reference columns of a parity file. Reports the first few
// differences in full and counts them all.
void expect_parity(const Tokenizer& tokenizer, const std::vector<nlohmann::json>& rows,
                   const std::string& name) {
  const std::string ids_key = "ids_" + name, special_key = "ids_special_" + name,
                    decoded_key = "decoded_" + name;
  int checked = 0, encode_failures = 0, special_failures = 0, decode_failures = 0;
  for (const auto& row : rows) {
    if (!row.contains(ids_key)) continue;
    ++checked;
    const std::string text = row["text"].get<std::string>();
    const Ids expected = row[ids_key].get<Ids>();
    const Ids actual = tokenizer.encode(text, false);
    if (actual != expected && ++encode_failures <= 5) {
      ADD_FAILURE() << name << " encode(" << nlohmann::json(text).dump() << ")\n  expected " << show(expected)
                    << "\n  actual   " << show(actual);
    }
    if (row.contains(special_key)) {
      const Ids expected_special = row[special_key].is_null() ? expected : row[special_key].get<Ids>();
      const Ids actual_special = tokenizer.encode(text, true);
      if (actual_special != expected_special && ++special_failures <= 5) {
        ADD_FAILURE() << name << " encode(" << nlohmann::json(text).dump() << ", add_special)\n  expected "
                      << show(expected_special) << "\n  actual   " << show(actual_special);
      }
    }
    const std::string expected_text = row[decoded_key].is_null() ? text : row[decoded_key].get<std::string>();
    const std::string decoded = tokenizer.decode(expected, false);
    if (decoded != expected_text && ++decode_failures <= 5) {
      ADD_FAILURE() << name << " decode(" << show(expected) << ")\n  expected "
                    << nlohmann::json(expected_text).dump() << "\n  actual   "
                    << nlohmann::json(decoded).dump();
    }
  }
  EXPECT_GT(checked, 0) << "no " << ids_key << " column";
  EXPECT_EQ(encode_failures, 0) << name << ": encode differs on " << encode_failures << " of " << checked;
  EXPECT_EQ(special_failures, 0) << name << ": encode with special tokens differs on " << special_failures;
  EXPECT_EQ(decode_failures, 0) << name << ": decode differs on " << decode_failures << " of " << checked;
}

TEST(TokenizerParity, CorpusIsLargeAndVaried) {
  auto rows = read_jsonl(kFixtureDir + "hf_parity_full.jsonl");
  EXPECT_GE(rows.size(), 500u);
  size_t longest = 0;
  bool has_empty = false;
  for (const auto& row : rows) {
    longest = std::max(longest, row["text"].get<std::string>().size());
    has_empty |= row["text"].get<std::string>().empty();
  }
  EXPECT_GE(longest, 4000u);
  EXPECT_TRUE(has_empty);
}

TEST(TokenizerParity, Llama2MatchesReferenceOnCorpus) {
  REQUIRE_SHARED(tokenizer, "llama2.tokenizer.json");
  expect_parity(*tokenizer, read_jsonl(kFixtureDir + "hf_parity_full.jsonl"), "llama2");
}

TEST(TokenizerParity, Olmo2MatchesReferenceOnCorpus) {
  REQUIRE_SHARED(tokenizer, "olmo2-dolma2.tokenizer.json");
  expect_parity(*tokenizer, read_jsonl(kFixtureDir + "hf_parity_full.jsonl"), "olmo2");
}

// The small tokenizers are committed, so these always run; between them they use every supported
// pipeline component and added-token flag.
class TinyTokenizerParity : public ::testing::TestWithParam<std::string> {};

TEST_P(TinyTokenizerParity, MatchesReference) {
  static const auto rows = read_jsonl(kFixtureDir + "hf_parity_tiny.jsonl");
  auto tokenizer = Tokenizer::load(kFixtureDir + GetParam() + ".tokenizer.json");
  expect_parity(*tokenizer, rows, GetParam());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TinyTokenizerParity,
                         ::testing::Values("tiny_llama", "tiny_metaspace_first", "tiny_metaspace_split",
                                           "tiny_bytelevel", "tiny_gpt2", "tiny_splits", "tiny_suffix",
                                           "tiny_casefold"));

TEST(TokenizerParity, EveryTinyFixtureIsTested) {
  auto meta = nlohmann::json::parse(read_text_file(kFixtureDir + "hf_parity.meta.json"));
  EXPECT_EQ(meta["tiny"]["tokenizers"].size(), 8u) << "update TinyTokenizerParity's list";
}

// formats.md §5.1, expected ids from llama-tokenizer-js (validated against HF), with BOS.
TEST(Llama2Tokenizer, DocumentedCases) {
  REQUIRE_SHARED(t, "llama2.tokenizer.json");
  EXPECT_EQ(t->encode(" grabbed", true), (Ids{1, 29871, 2646, 1327, 287}));
  EXPECT_EQ(t->encode("grabbed", true), (Ids{1, 2646, 1327, 287}));
  EXPECT_EQ(t->encode("           grabbed", true), (Ids{1, 9651, 2646, 1327, 287}));
  EXPECT_EQ(t->encode("\n", true), (Ids{1, 29871, 13}));
  EXPECT_EQ(t->encode(" \n", true), (Ids{1, 259, 13}));
  EXPECT_EQ(t->encode("\t", true), (Ids{1, 29871, 12}));
  EXPECT_EQ(t->encode("🦙", true), (Ids{1, 29871, 243, 162, 169, 156}));
  EXPECT_EQ(t->encode("a 25", true), (Ids{1, 263, 29871, 29906, 29945}));
  EXPECT_EQ(t->encode("ax\n####\nboo", true), (Ids{1, 4853, 13, 4136, 13, 833, 29877}));
  EXPECT_EQ(t->encode("Hello world!", true), (Ids{1, 15043, 3186, 29991}));
  EXPECT_EQ(t->encode("", true), (Ids{1}));
  EXPECT_EQ(t->encode("", false), (Ids{}));
  // RAT+ encodes without BOS and relies on "</s>" in text becoming EOS.
  EXPECT_EQ(t->encode("</s>", false), (Ids{2}));
  EXPECT_EQ(t->encode("Hello world!", false), (Ids{15043, 3186, 29991}));
}

TEST(Llama2Tokenizer, SpecialIdsAndVocabulary) {
  REQUIRE_SHARED(t, "llama2.tokenizer.json");
  EXPECT_EQ(t->vocab_size(), 32000);
  EXPECT_EQ(t->bos_id(), 1);
  EXPECT_EQ(t->eos_id(), 2);
  EXPECT_EQ(t->token_to_id("<unk>"), 0);
  EXPECT_EQ(t->token_to_id("<0x0A>"), 13);
  EXPECT_EQ(t->token_to_id("▁Hello"), 15043);
  EXPECT_EQ(t->token_to_id("no such piece"), std::nullopt);
  EXPECT_EQ(t->id_to_token(15043), "▁Hello");
  EXPECT_EQ(t->id_to_token(32000), std::nullopt);
  EXPECT_TRUE(t->is_special(1));
  EXPECT_FALSE(t->is_special(15043));
}

TEST(Llama2Tokenizer, DecodeSkipsSpecialTokensOnRequest) {
  REQUIRE_SHARED(t, "llama2.tokenizer.json");
  Ids ids = t->encode("hello </s> world", true);
  EXPECT_EQ(ids, (Ids{1, 22172, 2, 3186}));
  EXPECT_EQ(t->decode(ids, false), "<s> hello </s> world");
  EXPECT_EQ(t->decode(ids, true), "hello world");
  // Ids beyond the vocabulary are dropped, as the reference does.
  EXPECT_EQ(t->decode(Ids{15043, 32000, 99999, -1, 3186}, true), "Hello world");
}

// formats.md §5.2, expected ids from transformers' OLMo2 tests (HF fast tokenizer), no BOS.
TEST(Olmo2Tokenizer, DocumentedCases) {
  REQUIRE_SHARED(t, "olmo2-dolma2.tokenizer.json");
  for (bool add_special : {false, true}) {
    EXPECT_EQ(t->encode("生活的真谛是", add_special), (Ids{21990, 76706, 9554, 89151, 39013, 249, 21043}));
    EXPECT_EQ(t->encode("Hi  Hello", add_special), (Ids{13347, 220, 22691}));
    EXPECT_EQ(t->encode("Hi   Hello", add_special), (Ids{13347, 256, 22691}));
    EXPECT_EQ(t->encode("", add_special), (Ids{}));
    EXPECT_EQ(t->encode(" ", add_special), (Ids{220}));
    EXPECT_EQ(t->encode("  ", add_special), (Ids{256}));
    EXPECT_EQ(t->encode(" Hello", add_special), (Ids{22691}));
    EXPECT_EQ(t->encode("This is a test", add_special), (Ids{2028, 374, 264, 1296}));
  }
  EXPECT_EQ(t->decode(Ids{21990, 76706, 9554, 89151, 39013, 249, 21043}, true), "生活的真谛是");
}

TEST(Olmo2Tokenizer, AddedTokensAreSplitOutBeforeTheRegex) {
  REQUIRE_SHARED(t, "olmo2-dolma2.tokenizer.json");
  EXPECT_EQ(t->encode("<|endoftext|>", false), (Ids{100257}));
  EXPECT_EQ(t->encode("x<|endoftext|>y", false), (Ids{87, 100257, 88}));
  EXPECT_EQ(t->encode("|||EMAIL_ADDRESS|||", false), (Ids{100262}));
  EXPECT_EQ(t->encode("<|im_start|>", false), (Ids{100264}));
  EXPECT_EQ(t->encode("<|pad|>", false), (Ids{100277}));
  // Non-special added tokens survive skip_special; special ones do not.
  EXPECT_EQ(t->decode(Ids{87, 100257, 100262, 88}, true), "x|||EMAIL_ADDRESS|||y");
  EXPECT_EQ(t->decode(Ids{87, 100257, 100262, 88}, false), "x<|endoftext|>|||EMAIL_ADDRESS|||y");
}

TEST(Olmo2Tokenizer, SpecialIdsAndVocabulary) {
  REQUIRE_SHARED(t, "olmo2-dolma2.tokenizer.json");
  EXPECT_EQ(t->vocab_size(), 100278);
  EXPECT_EQ(t->bos_id(), std::nullopt);
  EXPECT_EQ(t->eos_id(), 100257);
  EXPECT_EQ(t->token_to_id("<|pad|>"), 100277);
  EXPECT_EQ(t->token_to_id("Ġtest"), 1296);
  EXPECT_TRUE(t->is_special(100257));
  EXPECT_FALSE(t->is_special(100262));
}

TEST(Tokenizer, RejectsInvalidUtf8Input) {
  auto t = Tokenizer::load(kFixtureDir + "tiny_bytelevel.tokenizer.json");
  try {
    t->encode("ok \xC3\x28 bad", false);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("offset 3"), std::string::npos) << e.what();
  }
}

TEST(Tokenizer, RoundTripsTextThroughBothTinyStyles) {
  for (const char* name : {"tiny_llama", "tiny_bytelevel"}) {
    auto t = Tokenizer::load(kFixtureDir + name + ".tokenizer.json");
    for (std::string text : {"Hello, wörd! 中文 🦙\n\ttabs  and  spaces", "x<|endoftext|>y </s> done"}) {
      EXPECT_EQ(t->decode(t->encode(text, false), false), text) << name;
    }
  }
}

TEST(Tokenizer, EncodesLongTextLikeItsPieces) {
  // Byte-level pieces never cross these sentence boundaries, so the BPE cache and the merge queue
  // must give the same ids however much text comes before a word.
  auto t = Tokenizer::load(kFixtureDir + "tiny_bytelevel.tokenizer.json");
  const std::string sentence = "The tokenizer merges pairs, lowest rank first; ties go left.";
  std::string text = sentence;
  Ids expected = t->encode(sentence, false);
  const Ids next = t->encode(" " + sentence, false);
  for (int i = 0; i < 300; ++i) {
    text += " " + sentence;
    expected.insert(expected.end(), next.begin(), next.end());
  }
  EXPECT_EQ(t->encode(text, false), expected);
}

}  // namespace
}  // namespace ratkv
