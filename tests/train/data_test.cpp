// Token shards, the deterministic data order, pretraining labels and SFT label masking.
#include <gtest/gtest.h>

#include <fstream>

#include "train/corpus.h"
#include "train/data_source.h"
#include "train/html_text.h"
#include "train_test_util.h"

namespace ratkv::train {
namespace {

using testing::temp_dir;

TEST(TokenShards, ReadsAcrossShardBoundaries) {
  const std::string dir = temp_dir("shards");
  std::vector<int32_t> a{5, 6, 7}, b{8, 9}, c{10, 11, 12, 13};
  write_token_shard(dir + "/s0.tok", a, 100, 2);
  write_token_shard(dir + "/s1.tok", b, 100, 2);
  write_token_shard(dir + "/s2.tok", c, 100000, 2);  // 4-byte tokens — but a vocabulary mismatch
  EXPECT_THROW(TokenShards{dir}, Error);
  write_token_shard(dir + "/s2.tok", c, 100, 2);
  const TokenShards shards(dir);
  EXPECT_EQ(shards.size(), 9u);
  std::vector<int64_t> out(6);
  shards.read(2, out);
  EXPECT_EQ(out, (std::vector<int64_t>{7, 8, 9, 10, 11, 12}));
}

TEST(TokenShards, RejectsCorruptFiles) {
  const std::string dir = temp_dir("corrupt");
  std::ofstream(dir + "/bad.tok") << "not a shard at all, just some text here";
  EXPECT_THROW(TokenShards{dir + "/bad.tok"}, Error);
  EXPECT_THROW(TokenShards{dir + "/missing.tok"}, Error);
}

TEST(DataOrder, PermutationIsSeededAndComplete) {
  const auto p = epoch_permutation(100, 7, 0);
  EXPECT_EQ(p, epoch_permutation(100, 7, 0));
  EXPECT_NE(p, epoch_permutation(100, 7, 1));
  EXPECT_NE(p, epoch_permutation(100, 8, 0));
  std::vector<uint32_t> sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (uint32_t i = 0; i < 100; ++i) EXPECT_EQ(sorted[i], i);
}

TEST(PretrainData, WindowsAreNextTokenPairsAndSkipTheLabelAfterEos) {
  const std::string dir = temp_dir("windows");
  std::vector<int32_t> ids;
  for (int i = 0; i < 41; ++i) ids.push_back(i % 10 == 9 ? 2 : 3 + i);
  write_token_shard(dir + "/d.tok", ids, 100, 2);
  const PretrainSource source(dir + "/d.tok", 8, 0);
  EXPECT_EQ(source.rows_per_epoch(), 5);
  std::set<int64_t> starts;
  for (int64_t r = 0; r < 5; ++r) {
    std::vector<int64_t> in(8), labels(8);
    source.row(r, in.data(), labels.data());
    starts.insert(in[0]);
    for (int t = 0; t < 8; ++t) {
      if (in[static_cast<size_t>(t)] == 2) {
        EXPECT_EQ(labels[static_cast<size_t>(t)], kIgnoreLabel);
      } else if (t + 1 < 8) {
        EXPECT_EQ(labels[static_cast<size_t>(t)], in[static_cast<size_t>(t) + 1]);
      }
    }
  }
  EXPECT_EQ(starts.size(), 5u) << "each window once per epoch";
}

TEST(Corpus, StripsRstAndPodMarkupAndKeepsProse) {
  const std::string rst =
      "Title\n=====\n\n.. note::\n\n   A note body that should go.\n\n"
      "This paragraph uses :ref:`a reference <target>` and ``code`` and **bold** words in a sentence.\n\n"
      "Example::\n\n    int main() { return 0; }\n\nAfter the code block comes more prose text here for "
      "you.\n";
  const auto p = extract_paragraphs(rst, Markup::ReStructuredText);
  std::string all;
  for (const auto& s : p) all += s + "|";
  EXPECT_NE(all.find("uses a reference and code and bold words"), std::string::npos) << all;
  EXPECT_EQ(all.find("note body"), std::string::npos) << all;
  EXPECT_EQ(all.find("int main"), std::string::npos) << all;
  EXPECT_NE(all.find("After the code block"), std::string::npos) << all;

  const std::string pod =
      "=head1 NAME\n\nThe B<bold> and C<code> and L<text|perlfunc> in a readable sentence here.\n\n"
      "    my $x = 1;\n\n=cut\n\nsub hidden {}\n";
  const auto q = extract_paragraphs(pod, Markup::Pod);
  ASSERT_EQ(q.size(), 2u);
  EXPECT_EQ(q[1], "The bold and code and text in a readable sentence here.");
  EXPECT_TRUE(looks_like_prose(q[1]));
  EXPECT_FALSE(looks_like_prose("x = foo(bar[1], baz[2]) + qux->{3}; // 12345 67890"));
}

TEST(Corpus, HtmlKeepsVisibleProseAndSkipsCodeNavigationAndScripts) {
  const std::string html =
      "<!DOCTYPE html><html><head><title>Page title</title><style>p{color:red}</style></head><body>"
      "<nav><a href='/'>Home</a> | <a href=\"x.html\">Next</a></nav>"
      "<h1>Getting started</h1><p>The <b>quick</b> brown fox &amp; the lazy dog&#8212;a\n  classic "
      "pangram, with <code>inline code</code> kept&nbsp;inside &lt;sentences&gt;.</p>"
      "<pre>int main() { return 0; }</pre><!-- a <p>comment</p> -->"
      "<div class=\"note\"><p>Second paragraph&rsquo;s text.<br>After a break.</p></div>"
      "<script>var p = '<p>not text</p>';</script><p>Unknown &bogus; and a &#x1F600; face, 3 < 4.</p>"
      "<p>Unclosed to the end";
  const auto p = html_paragraphs(html);
  ASSERT_EQ(p.size(), 6u) << ::testing::PrintToString(p);
  EXPECT_EQ(p[0], "Getting started");
  EXPECT_EQ(
      p[1],
      "The quick brown fox & the lazy dog\u2014a classic pangram, with inline code kept inside <sentences>.");
  EXPECT_EQ(p[2], "Second paragraph\u2019s text.");
  EXPECT_EQ(p[3], "After a break.");
  EXPECT_EQ(p[4], "Unknown &bogus; and a \U0001F600 face, 3 < 4.");
  EXPECT_EQ(p[5], "Unclosed to the end");
  EXPECT_EQ(extract_paragraphs(html, Markup::Html), p);

  EXPECT_EQ(decode_html_entity("amp"), "&");
  EXPECT_EQ(decode_html_entity("#x41"), "A");
  EXPECT_EQ(decode_html_entity("shy"), "");
  EXPECT_FALSE(decode_html_entity("#xD800").has_value());  // a surrogate is no character
  EXPECT_FALSE(decode_html_entity("#").has_value());
  EXPECT_FALSE(decode_html_entity("nosuch").has_value());
  // Truncated markup never throws and keeps what it can.
  for (size_t n = 0; n < html.size(); n += 7) EXPECT_NO_THROW(html_paragraphs(html.substr(0, n)));
}

}  // namespace
}  // namespace ratkv::train
