// The building blocks under the tokenizers whose exact behaviour the parity fixtures rely on but do
// not isolate: UTF-8 repair, the Oniguruma-to-PCRE2 pattern rewrite, match iteration, splitting.
#include <gtest/gtest.h>

#include "tokenizer/byte_level.h"
#include "tokenizer/regex.h"
#include "tokenizer/text_piece.h"
#include "tokenizer/utf8.h"

namespace ratkv {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

TEST(TokenizerUtf8, LossyConversionReplacesMaximalSubparts) {
  EXPECT_EQ(utf8::to_valid_lossy("plain é 中 🦙"), "plain é 中 🦙");
  EXPECT_EQ(utf8::to_valid_lossy("\xE2\x82"), kFffd);  // truncated 3-byte sequence
  EXPECT_EQ(utf8::to_valid_lossy("\xF0\x9F\x98"
                                 "a"),
            kFffd + "a");                                                  // truncated, then ASCII
  EXPECT_EQ(utf8::to_valid_lossy("\xC0\xAF"), kFffd + kFffd);              // overlong lead, lone continuation
  EXPECT_EQ(utf8::to_valid_lossy("\xED\xA0\x80"), kFffd + kFffd + kFffd);  // surrogate
  EXPECT_EQ(utf8::to_valid_lossy("\xF4\x90\x80\x80"), kFffd + kFffd + kFffd + kFffd);  // beyond U+10FFFF
  EXPECT_EQ(utf8::to_valid_lossy("a\xFF"
                                 "b"),
            "a" + kFffd + "b");
}

TEST(TokenizerUtf8, FindsInvalidBytesAndIncompleteEnds) {
  EXPECT_EQ(utf8::find_invalid("abc"), std::string::npos);
  EXPECT_EQ(utf8::find_invalid("ab\x80"), 2u);
  EXPECT_TRUE(utf8::ends_with_incomplete_sequence("ok \xF0\x9F\xA6"));
  EXPECT_FALSE(utf8::ends_with_incomplete_sequence("ok \xF0\x9F\xA6\x99"));
  EXPECT_FALSE(utf8::ends_with_incomplete_sequence("ok \x80"));
  EXPECT_TRUE(utf8::is_whitespace(0x85));
  EXPECT_TRUE(utf8::is_whitespace(0x3000));
  EXPECT_FALSE(utf8::is_whitespace(0x180E));
  EXPECT_FALSE(utf8::is_whitespace(0x200B));
}

TEST(TokenizerByteLevel, MapIsTheGpt2Table) {
  EXPECT_EQ(byte_level::char_of_byte(' '), "Ġ");
  EXPECT_EQ(byte_level::char_of_byte('\n'), "Ċ");
  EXPECT_EQ(byte_level::char_of_byte('A'), "A");
  EXPECT_EQ(byte_level::char_of_byte(0xAD), "Ń");
  EXPECT_EQ(byte_level::char_of_byte(0xF0), "ð");
  for (int b = 0; b < 256; ++b) {
    std::string_view c = byte_level::char_of_byte(static_cast<uint8_t>(b));
    size_t pos = 0;
    EXPECT_EQ(byte_level::byte_of_char(utf8::next_code_point(c, pos)), b);
  }
  EXPECT_EQ(byte_level::byte_of_char(U'中'), std::nullopt);
}

TEST(TokenizerRegex, RewritesOnigurumaOnlySyntax) {
  EXPECT_EQ(to_pcre2_syntax("(?i:'s|'t)"), "(?i:'s|'t)");
  EXPECT_EQ(to_pcre2_syntax(R"(\p{L}+)"), R"(\p{L}+)");
  std::string space = to_pcre2_syntax(R"(\s)");
  EXPECT_EQ(space.front(), '[');
  EXPECT_NE(space.find(R"(\x{85})"), std::string::npos);
  EXPECT_EQ(to_pcre2_syntax(R"([^\s\p{L}])").find(R"(\s)"), std::string::npos);
  EXPECT_EQ(to_pcre2_syntax(R"(\S)").substr(0, 2), "[^");
  EXPECT_EQ(to_pcre2_syntax(R"(a\\s)"), R"(a\\s)");
}

TEST(TokenizerRegex, MatchesLikeOniguruma) {
  Regex cl100k = Regex::compile(
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)");
  auto pieces = [&](std::string_view text) {
    std::vector<std::string> out;
    for (const MatchSpan& m : cl100k.find_all(text)) out.emplace_back(text.substr(m.begin, m.end - m.begin));
    return out;
  };
  EXPECT_EQ(pieces("Hi   Hello"), (std::vector<std::string>{"Hi", "  ", " Hello"}));
  EXPECT_EQ(pieces("I'LL 12345"), (std::vector<std::string>{"I", "'LL", " ", "123", "45"}));
  // Like Oniguruma, caseless matching folds U+017F (long s) onto "s" and U+212A (Kelvin) onto "k".
  EXPECT_EQ(pieces("'ſt"), (std::vector<std::string>{"'ſ", "t"}));
  // U+180E is not \s for Oniguruma; U+0085 is.
  EXPECT_EQ(pieces("x \u180Ey"), (std::vector<std::string>{"x", " \u180E", "y"}));
  EXPECT_EQ(pieces("x \u0085y"), (std::vector<std::string>{"x", " ", "\u0085y"}));
}

TEST(TokenizerRegex, SkipsEmptyMatchesRightAfterAMatch) {
  std::vector<std::pair<size_t, size_t>> spans;
  for (const MatchSpan& m : Regex::compile("a*").find_all("baab")) spans.emplace_back(m.begin, m.end);
  EXPECT_EQ(spans, (std::vector<std::pair<size_t, size_t>>{{0, 0}, {1, 3}, {4, 4}}));
  EXPECT_TRUE(Regex::literal("a+b").search("xa+by"));
  EXPECT_FALSE(Regex::literal("a+b").search("aab"));
}

std::vector<std::string> split(std::string_view text, std::string_view delimiter, SplitBehavior behavior,
                               bool invert = false) {
  TextPiece piece{std::string(text), true};
  std::vector<TextPiece> out;
  split_piece(piece, Regex::literal(delimiter).find_all(text), behavior, invert, out);
  std::vector<std::string> texts;
  for (const TextPiece& p : out) texts.push_back(p.text);
  EXPECT_TRUE(out.empty() || out[0].at_input_start == (text.substr(0, out[0].text.size()) == out[0].text));
  return texts;
}

TEST(TokenizerSplit, EveryDelimiterBehavior) {
  using V = std::vector<std::string>;
  EXPECT_EQ(split("a-b--c-", "-", SplitBehavior::kRemoved), (V{"a", "b", "c"}));
  EXPECT_EQ(split("a-b--c-", "-", SplitBehavior::kIsolated), (V{"a", "-", "b", "-", "-", "c", "-"}));
  EXPECT_EQ(split("a-b--c-", "-", SplitBehavior::kMergedWithPrevious), (V{"a-", "b-", "-", "c-"}));
  EXPECT_EQ(split("a-b--c-", "-", SplitBehavior::kMergedWithNext), (V{"a", "-b", "-", "-c", "-"}));
  EXPECT_EQ(split("a-b--c-", "-", SplitBehavior::kContiguous), (V{"a", "-", "b", "--", "c", "-"}));
  EXPECT_EQ(split("a-b--c-", "-", SplitBehavior::kRemoved, /*invert=*/true), (V{"-", "-", "-", "-"}));
  EXPECT_EQ(split("", "-", SplitBehavior::kIsolated), V{});
}

}  // namespace
}  // namespace ratkv
