// SentencePiece .model files through libsentencepiece: a tiny Llama-style BPE model trained by
// tools/fixtures/make_sentencepiece_fixture.py, with ids recorded by spm_encode.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "base/error.h"
#include "base/mapped_file.h"
#include "tokenizer/incremental_decoder.h"
#include "tokenizer/tokenizer.h"

namespace ratkv {
namespace {

using Ids = std::vector<int32_t>;

const std::string kModelPath = RATKV_SOURCE_DIR "/tests/fixtures/tokenizer/tiny_sentencepiece.model";

const Tokenizer& model() {
  static const std::unique_ptr<Tokenizer> t = Tokenizer::load(kModelPath);
  return *t;
}

TEST(SentencePieceTokenizer, MatchesSpmEncode) {
  std::istringstream in(
      read_text_file(RATKV_SOURCE_DIR "/tests/fixtures/tokenizer/sentencepiece_expected.jsonl"));
  int rows = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    auto row = nlohmann::json::parse(line);
    const std::string text = row["text"].get<std::string>();
    const Ids expected = row["ids"].get<Ids>();
    EXPECT_EQ(model().encode(text, false), expected) << nlohmann::json(text).dump();
    Ids with_bos = expected;
    with_bos.insert(with_bos.begin(), 1);
    EXPECT_EQ(model().encode(text, true), with_bos) << nlohmann::json(text).dump();
    EXPECT_EQ(model().decode(expected, true), text) << nlohmann::json(text).dump();
    ++rows;
  }
  EXPECT_GE(rows, 10);
}

TEST(SentencePieceTokenizer, SpecialIdsAndVocabulary) {
  EXPECT_EQ(model().vocab_size(), 600);
  EXPECT_EQ(model().bos_id(), 1);
  EXPECT_EQ(model().eos_id(), 2);
  EXPECT_EQ(model().token_to_id("<unk>"), 0);
  EXPECT_EQ(model().token_to_id("<0x09>"), 12);
  EXPECT_EQ(model().token_to_id("no such piece"), std::nullopt);
  EXPECT_EQ(model().id_to_token(1), "<s>");
  EXPECT_EQ(model().id_to_token(600), std::nullopt);
  EXPECT_TRUE(model().is_special(2));
  EXPECT_FALSE(model().is_special(300));
}

TEST(SentencePieceTokenizer, DecodeShowsControlTokensOnlyWhenAsked) {
  Ids ids = model().encode("Hello world!", true);
  ids.push_back(2);
  EXPECT_EQ(model().decode(ids, true), "Hello world!");
  EXPECT_EQ(model().decode(ids, false), "<s>Hello world!</s>");
  // Out-of-range ids are dropped, as for tokenizer.json files.
  ids.push_back(600);
  ids.push_back(-5);
  EXPECT_EQ(model().decode(ids, true), "Hello world!");
}

TEST(SentencePieceTokenizer, StreamsByteFallbackCharacters) {
  const std::string text = "Unicode: café, 中文, 🦙 done";
  Ids ids = model().encode(text, false);
  IncrementalDecoder decoder(model(), true);
  std::string streamed;
  for (int32_t id : ids) {
    std::string piece = decoder.push(id);
    EXPECT_EQ(piece.find("\xEF\xBF\xBD"), std::string::npos) << "emitted an unfinished character";
    streamed += piece;
  }
  streamed += decoder.flush();
  EXPECT_EQ(streamed, text);
}

TEST(SentencePieceTokenizer, LoadsByContentWhateverTheName) {
  std::string copy = ::testing::TempDir() + "ratkv_tokenizer_sp_copy.bin";
  write_text_file(copy, read_text_file(kModelPath));
  EXPECT_EQ(Tokenizer::load(copy)->encode("Hello world!", false), model().encode("Hello world!", false));
}

}  // namespace
}  // namespace ratkv
