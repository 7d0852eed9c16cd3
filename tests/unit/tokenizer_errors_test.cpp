// Malformed tokenizer files must give a ratkv::Error that names the file and the problem, never a
// crash or a silently different tokenizer.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/mapped_file.h"
#include "tokenizer/tokenizer.h"

namespace ratkv {
namespace {

using nlohmann::json;

// A minimal valid byte-level-free BPE tokenizer.json that each test breaks in one place.
json valid_tokenizer() {
  return json::parse(R"({
    "version": "1.0", "truncation": null, "padding": null,
    "added_tokens": [{"id": 4, "content": "<eos>", "single_word": false, "lstrip": false, "rstrip": false,
                      "normalized": false, "special": true}],
    "normalizer": null,
    "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "\\s+"}, "behavior": "Removed", "invert": false},
    "post_processor": null,
    "decoder": {"type": "Fuse"},
    "model": {"type": "BPE", "dropout": null, "unk_token": "<unk>", "continuing_subword_prefix": null,
              "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false,
              "vocab": {"<unk>": 0, "a": 1, "b": 2, "ab": 3}, "merges": ["a b"]}
  })");
}

std::string write_fixture(const std::string& name, const std::string& content) {
  std::string path = ::testing::TempDir() + "ratkv_tokenizer_errors_" + name;
  write_text_file(path, content);
  return path;
}

// Loading must fail with an Error whose message has the path and every fragment.
void expect_load_error(const std::string& name, const std::string& content,
                       std::initializer_list<std::string> fragments) {
  std::string path = write_fixture(name, content);
  try {
    Tokenizer::load(path);
    ADD_FAILURE() << name << ": loaded without error";
  } catch (const Error& e) {
    std::string message = e.what();
    EXPECT_NE(message.find(path), std::string::npos) << name << ": message lacks the path: " << message;
    for (const std::string& fragment : fragments) {
      EXPECT_NE(message.find(fragment), std::string::npos)
          << name << ": message lacks \"" << fragment << "\": " << message;
    }
  }
}

void expect_json_error(const std::string& name, const json& tokenizer,
                       std::initializer_list<std::string> fragments) {
  expect_load_error(name + ".json", tokenizer.dump(), fragments);
}

TEST(TokenizerErrors, TheBaseFixtureLoads) {
  auto t = Tokenizer::load(write_fixture("valid.json", valid_tokenizer().dump()));
  EXPECT_EQ(t->encode("ab a c<eos>", false), (std::vector<int32_t>{3, 1, 0, 4}));
  EXPECT_EQ(t->eos_id(), 4);
  EXPECT_EQ(t->vocab_size(), 5);
}

TEST(TokenizerErrors, MissingOrUnreadableFile) {
  try {
    Tokenizer::load("/nonexistent/dir/tokenizer.json");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/tokenizer.json"), std::string::npos);
  }
  expect_load_error("empty.json", "", {"empty"});
}

TEST(TokenizerErrors, NotJson) {
  expect_load_error("not_json.json", "{\"version\": \"1.0\", ", {"invalid JSON"});
  expect_load_error("garbage.json", "hello world", {"invalid JSON"});
  expect_load_error("array.json", "[1, 2, 3]", {"JSON object"});
}

TEST(TokenizerErrors, NeitherFormat) {
  expect_load_error("mystery.bin", "\x01\x02\x03 binary junk", {"neither"});
  expect_load_error("broken.model", "\x0a\xff\xff\xff not a proto", {"SentencePiece"});
}

TEST(TokenizerErrors, TopLevel) {
  json t = valid_tokenizer();
  t.erase("model");
  expect_json_error("no_model", t, {"\"model\""});
  t = valid_tokenizer();
  t["version"] = "2.0";
  expect_json_error("version", t, {"version", "2.0"});
}

TEST(TokenizerErrors, Model) {
  json t = valid_tokenizer();
  t["model"]["type"] = "WordPiece";
  expect_json_error("wordpiece", t, {"model", "WordPiece", "not supported"});
  t = valid_tokenizer();
  t["model"].erase("type");
  expect_json_error("untyped_model", t, {"model", "type"});
  t = valid_tokenizer();
  t["model"].erase("vocab");
  expect_json_error("no_vocab", t, {"vocab"});
  t = valid_tokenizer();
  t["model"].erase("merges");
  expect_json_error("no_merges", t, {"merges"});
  t = valid_tokenizer();
  t["model"]["vocab"]["b"] = "two";
  expect_json_error("string_id", t, {"model.vocab", "\"b\"", "integer"});
  t = valid_tokenizer();
  t["model"]["vocab"]["b"] = -2;
  expect_json_error("negative_id", t, {"\"b\"", "-2"});
  t = valid_tokenizer();
  t["model"]["vocab"]["b"] = 1;
  expect_json_error("duplicate_id", t, {"id 1", "\"a\"", "\"b\""});
  t = valid_tokenizer();
  t["model"]["dropout"] = 0.1;
  expect_json_error("dropout", t, {"dropout"});
  t = valid_tokenizer();
  t["model"]["unk_token"] = "<missing>";
  expect_json_error("unk", t, {"unk_token", "<missing>"});
  t = valid_tokenizer();
  t["model"]["byte_fallback"] = "yes";
  expect_json_error("bool_type", t, {"byte_fallback", "true or false"});
}

TEST(TokenizerErrors, Merges) {
  json t = valid_tokenizer();
  t["model"]["merges"] = {"a c"};
  expect_json_error("merge_unknown_token", t, {"merge 0", "\"c\"", "not in the vocabulary"});
  t = valid_tokenizer();
  t["model"]["merges"] = {"b a"};
  expect_json_error("merge_unknown_result", t, {"merge 0", "\"ba\"", "not in the vocabulary"});
  t = valid_tokenizer();
  t["model"]["merges"] = {"ab"};
  expect_json_error("merge_one_part", t, {"model.merges[0]", "\"ab\""});
  t = valid_tokenizer();
  t["model"]["merges"] = {"a b c"};
  expect_json_error("merge_three_parts", t, {"model.merges[0]"});
  t = valid_tokenizer();
  t["model"]["merges"] = json::parse(R"([["a"]])");
  expect_json_error("merge_short_pair", t, {"model.merges[0]", "pair"});
  t = valid_tokenizer();
  t["model"]["merges"] = "a b";
  expect_json_error("merges_not_array", t, {"model.merges", "array"});
  // Both spellings of a merge are accepted.
  t = valid_tokenizer();
  t["model"]["merges"] = json::parse(R"([["a", "b"]])");
  EXPECT_NO_THROW(Tokenizer::load(write_fixture("pair_merges.json", t.dump())));
}

TEST(TokenizerErrors, AddedTokens) {
  json t = valid_tokenizer();
  t["added_tokens"][0]["id"] = 7;
  expect_json_error("added_wrong_next_id", t, {"added_tokens[0]", "<eos>", "must be 4"});
  t = valid_tokenizer();
  t["added_tokens"][0]["content"] = "ab";
  expect_json_error("added_vocab_mismatch", t, {"added_tokens[0]", "\"ab\"", "vocabulary gives it 3"});
  t = valid_tokenizer();
  t["added_tokens"][0]["content"] = "";
  expect_json_error("added_empty", t, {"added_tokens[0]", "content"});
  t = valid_tokenizer();
  t["added_tokens"].push_back(t["added_tokens"][0]);
  t["added_tokens"][1]["id"] = 5;
  expect_json_error("added_twice", t, {"added_tokens[1]", "added twice"});
  t = valid_tokenizer();
  t["added_tokens"][0].erase("id");
  expect_json_error("added_no_id", t, {"added_tokens[0]", "\"id\""});
  t = valid_tokenizer();
  t["added_tokens"] = {{"content", "x"}};
  expect_json_error("added_not_array", t, {"added_tokens", "array"});
}

TEST(TokenizerErrors, UnknownComponentTypesAreNamed) {
  json t = valid_tokenizer();
  t["normalizer"] = {{"type", "NFKC"}};
  expect_json_error("nfkc", t, {"normalizer", "\"NFKC\""});
  t = valid_tokenizer();
  t["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", {{{"type", "Whitespace"}}}}};
  expect_json_error("whitespace", t, {"pre_tokenizer.pretokenizers[0]", "\"Whitespace\""});
  t = valid_tokenizer();
  t["decoder"] = {{"type", "WordPiece"}, {"prefix", "##"}};
  expect_json_error("wordpiece_decoder", t, {"decoder", "\"WordPiece\""});
  t = valid_tokenizer();
  t["post_processor"] = {{"type", "BertProcessing"}};
  expect_json_error("bert_processing", t, {"post_processor", "\"BertProcessing\""});
  t = valid_tokenizer();
  t["normalizer"] = {{"normalizers", json::array()}};
  expect_json_error("untyped_normalizer", t, {"normalizer", "type"});
  t = valid_tokenizer();
  t["decoder"] = "Fuse";
  expect_json_error("decoder_string", t, {"decoder", "object"});
}

TEST(TokenizerErrors, ComponentParameters) {
  json t = valid_tokenizer();
  t["pre_tokenizer"]["pattern"] = {{"Regex", "(unclosed"}};
  expect_json_error("bad_regex", t, {"pre_tokenizer.pattern", "invalid regex", "(unclosed"});
  t = valid_tokenizer();
  t["pre_tokenizer"].erase("behavior");
  expect_json_error("no_behavior", t, {"pre_tokenizer", "behavior"});
  t = valid_tokenizer();
  t["pre_tokenizer"]["behavior"] = "Sideways";
  expect_json_error("bad_behavior", t, {"pre_tokenizer", "Sideways"});
  t = valid_tokenizer();
  t["pre_tokenizer"]["pattern"] = {{"Glob", "*"}};
  expect_json_error("bad_pattern_kind", t, {"pre_tokenizer.pattern", "String"});
  t = valid_tokenizer();
  t["pre_tokenizer"] = {{"type", "ByteLevel"}, {"trim_offsets", true}};
  expect_json_error("byte_level_no_prefix", t, {"pre_tokenizer", "add_prefix_space"});
  t = valid_tokenizer();
  t["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "ab"}};
  expect_json_error("metaspace_replacement", t, {"pre_tokenizer", "replacement", "single character"});
  t = valid_tokenizer();
  t["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "_"}, {"prepend_scheme", "sometimes"}};
  expect_json_error("metaspace_scheme", t, {"pre_tokenizer", "sometimes"});
  t = valid_tokenizer();
  t["decoder"] = {{"type", "Strip"}, {"content", " "}, {"start", -1}, {"stop", 0}};
  expect_json_error("strip_negative", t, {"decoder", "start"});
  t = valid_tokenizer();
  t["normalizer"] = {{"type", "Replace"}, {"pattern", {{"String", ""}}}, {"content", "x"}};
  expect_json_error("empty_pattern", t, {"normalizer.pattern", "empty"});
}

TEST(TokenizerErrors, TemplateProcessing) {
  json t = valid_tokenizer();
  t["post_processor"] = json::parse(R"({"type": "TemplateProcessing",
      "single": [{"SpecialToken": {"id": "<bos>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
      "special_tokens": {}})");
  expect_json_error("template_undefined", t, {"post_processor.single[0]", "<bos>", "not defined"});
  t["post_processor"]["single"] = json::parse(R"([{"SpecialToken": {"id": "<bos>", "type_id": 0}}])");
  t["post_processor"]["special_tokens"] =
      json::parse(R"({"<bos>": {"id": "<bos>", "ids": [4], "tokens": ["<eos>"]}})");
  expect_json_error("template_no_sequence", t, {"post_processor", "$A"});
}

TEST(TokenizerErrors, TruncatedRealFileFailsCleanly) {
  std::string text = read_text_file(RATKV_SOURCE_DIR "/tests/fixtures/tokenizer/tiny_llama.tokenizer.json");
  for (size_t cut : {size_t{1}, text.size() / 3, text.size() / 2, text.size() - 3}) {
    expect_load_error("truncated_" + std::to_string(cut) + ".json", text.substr(0, cut), {"invalid JSON"});
  }
}

}  // namespace
}  // namespace ratkv
