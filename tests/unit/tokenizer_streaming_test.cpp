// IncrementalDecoder: text streamed one id at a time must concatenate to decode(all ids) and never
// contain a half-emitted character.
#include <gtest/gtest.h>

#include "base/mapped_file.h"
#include "tokenizer/incremental_decoder.h"
#include "tokenizer/tokenizer.h"

namespace ratkv {
namespace {

using Ids = std::vector<int32_t>;

const std::string kFixtureDir = RATKV_SOURCE_DIR "/tests/fixtures/tokenizer/";

const std::vector<std::string>& texts() {
  static const std::vector<std::string> t = {
      "Hello world! Streaming text, one id at a time.",
      "  leading spaces and trailing  ",
      "中文字符 and emoji 🦙👨‍👩‍👧‍👦 with ZWJ, café\u0301",
      "line one\nline two\r\n\ttabbed <|endoftext|> after",
      "</s> EOS inside, then more </s>",
      "",
  };
  return t;
}

std::string stream(const Tokenizer& t, const Ids& ids, bool skip_special,
                   std::span<const int32_t> context = {}) {
  IncrementalDecoder decoder(t, skip_special, context);
  std::string out;
  for (int32_t id : ids) {
    std::string piece = decoder.push(id);
    EXPECT_EQ(piece.find("\xEF\xBF\xBD"), std::string::npos) << "unfinished character emitted";
    out += piece;
  }
  return out + decoder.flush();
}

class TokenizerStreaming : public ::testing::TestWithParam<std::string> {};

TEST_P(TokenizerStreaming, ConcatenationEqualsWholeDecode) {
  auto t = Tokenizer::load(kFixtureDir + GetParam());
  for (const std::string& text : texts()) {
    Ids ids = t->encode(text, true);
    for (bool skip : {false, true}) {
      EXPECT_EQ(stream(*t, ids, skip), t->decode(ids, skip)) << GetParam() << " " << text;
    }
  }
}

TEST_P(TokenizerStreaming, ContinuesAfterAPromptContext) {
  // Generation starts after the prompt: the first new token keeps its leading space.
  auto t = Tokenizer::load(kFixtureDir + GetParam());
  Ids prompt = t->encode("The answer is", false);
  Ids all = t->encode("The answer is forty two", false);
  ASSERT_GT(all.size(), prompt.size());
  ASSERT_TRUE(std::equal(prompt.begin(), prompt.end(), all.begin()));
  Ids generated(all.begin() + static_cast<std::ptrdiff_t>(prompt.size()), all.end());
  EXPECT_EQ(stream(*t, generated, true, prompt), " forty two");
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TokenizerStreaming,
                         ::testing::Values("tiny_llama.tokenizer.json", "tiny_metaspace_split.tokenizer.json",
                                           "tiny_bytelevel.tokenizer.json", "tiny_sentencepiece.model"));

TEST(TokenizerStreaming, HoldsBackAnUnfinishedByteSequence) {
  auto t = Tokenizer::load(kFixtureDir + "tiny_llama.tokenizer.json");
  // "🦙" is four byte-fallback tokens in the tiny vocabulary.
  Ids ids = t->encode("🦙", false);
  ASSERT_EQ(ids.size(), 5u);  // "▁" and four bytes
  IncrementalDecoder decoder(*t, true);
  EXPECT_EQ(decoder.push(ids[0]), "");  // a lone "▁" at the start decodes to nothing
  EXPECT_EQ(decoder.push(ids[1]), "");
  EXPECT_EQ(decoder.push(ids[2]), "");
  EXPECT_EQ(decoder.push(ids[3]), "");
  EXPECT_EQ(decoder.push(ids[4]), "🦙");
  EXPECT_EQ(decoder.flush(), "");
}

TEST(TokenizerStreaming, FlushReleasesATruncatedCharacter) {
  auto t = Tokenizer::load(kFixtureDir + "tiny_bytelevel.tokenizer.json");
  Ids ids = t->encode("ok 🦙", false);
  ids.pop_back();  // cut the emoji short
  IncrementalDecoder decoder(*t, true);
  std::string out;
  for (int32_t id : ids) out += decoder.push(id);
  EXPECT_EQ(out.find("\xEF\xBF\xBD"), std::string::npos);
  std::string rest = decoder.flush();
  EXPECT_EQ(rest.substr(rest.size() - 3), "\xEF\xBF\xBD");
  EXPECT_EQ(out + rest, t->decode(ids, true));
}

}  // namespace
}  // namespace ratkv
