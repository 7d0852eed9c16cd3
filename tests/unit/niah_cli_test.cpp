// `ratkv init`, `ratkv niah` and `ratkv report` end to end through the built binary: two tiny random models
// with the shipped tiny tokenizer, a 2-task × 2-method grid, the report files, resume (a rerun adds no
// rows), shard + merge equal to one run, and shared prefill equal to separate prefills (diagnostics on,
// which also puts the H1 table in the report), and the --matmul precision recorded and never mixed. Needs
// nothing outside the repository (word lists are written here; the two tasks use the noise and needle
// haystacks).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "base/json.h"
#include "test_util.h"

namespace ratkv::testing {
namespace {

namespace fs = std::filesystem;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

// key → the row without its timing, for every line of a results file.
std::map<std::string, std::string> rows_by_key(const std::string& path) {
  std::map<std::string, std::string> rows;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    Json j = Json::parse(line);
    j.erase("seconds");
    const std::string key = j["model"].get<std::string>() + "|" + j["method"].get<std::string>() + "|" +
                            j["budget"].get<std::string>() + "|" + j["task"].get<std::string>() + "|" +
                            std::to_string(j["sample"].get<int64_t>());
    EXPECT_FALSE(rows.count(key)) << "duplicate row " << key;
    rows[key] = j.dump();
  }
  return rows;
}

TEST(NiahCli, GridReportResumeShardsAndSharedPrefill) {
  const std::string dir = temp_dir("niah_cli");
  const std::string tokenizer =
      std::string(RATKV_SOURCE_DIR) + "/tests/fixtures/tokenizer/tiny_llama.tokenizer.json";
  for (const auto& [name, family] : {std::pair{"attn", "llama --no-memory"}, std::pair{"mem", "ratplus"}}) {
    const auto [status, output] = run_cli("init -m " + dir + "/" + name + " --family " + family +
                                          " --layers 2 --hidden 64 --heads 4 --max-pos 1024 --std 0.2 "
                                          "--tokenizer " +
                                          tokenizer);
    ASSERT_EQ(status, 0) << output;
  }
  fs::create_directories(dir + "/words");
  std::ofstream(dir + "/words/adjectives.txt") << "red\nblue\ngreen\nquiet\n";
  std::ofstream(dir + "/words/nouns.txt") << "cat\ndog\nowl\nyak\nfox\n";

  const std::string grid = "niah --models attn=" + dir + "/attn,mem=" + dir +
                           "/mem --sparse dense,quest --budgets 1/4 --tasks niah_single_1,niah_multikey_2 "
                           "--lengths 512 --samples 2 --tokens-to-generate 6 --diagnostics --words " +
                           dir + "/words --no-progress -t 2 --out ";
  const std::string one = dir + "/one";
  {
    const auto [status, output] = run_cli(grid + one);
    ASSERT_EQ(status, 0) << output;
  }
  const auto rows = rows_by_key(one + "/results.jsonl");
  EXPECT_EQ(rows.size(), 2u * 2 * 2 * 2);  // models × arms × tasks × samples

  {
    const auto [status, output] = run_cli("report " + one);
    ASSERT_EQ(status, 0) << output;
  }
  const std::string summary = read_file(one + "/report/summary.md");
  EXPECT_NE(summary.find("| quest | 1/4 | mem |"), std::string::npos) << summary;
  EXPECT_NE(summary.find("Paired differences"), std::string::npos);
  const size_t h1 = summary.find("## H1: strict per-head hit rate");
  ASSERT_NE(h1, std::string::npos) << summary;
  EXPECT_NE(summary.find("| quest | 1/4 | Avg | mem |", h1), std::string::npos) << summary;
  EXPECT_TRUE(fs::exists(one + "/report/report.html"));
  for (const char* plot : {"quest_niah_single_1_512", "quest_niah_multikey_2_512", "quest_avg_512"}) {
    EXPECT_TRUE(fs::exists(one + "/report/plots/" + plot + ".svg")) << plot;
    EXPECT_TRUE(fs::exists(one + "/report/plots/" + plot + ".png")) << plot;
  }

  // Resume: a rerun finds every cell done and appends nothing.
  {
    const auto [status, output] = run_cli(grid + one);
    ASSERT_EQ(status, 0) << output;
    EXPECT_NE(output.find("16 already done, 0 run"), std::string::npos) << output;
  }
  EXPECT_EQ(rows_by_key(one + "/results.jsonl"), rows);

  // The rows say which precision made them, and a directory never mixes two: resuming with another
  // --matmul is refused, as is an unknown one.
  for (const auto& [key, row] : rows) EXPECT_EQ(Json::parse(row)["matmul"], "f32") << key;
  {
    const auto [status, output] = run_cli(grid + one + " --matmul bf16");
    EXPECT_NE(status, 0);
    EXPECT_NE(output.find("holds rows made with --matmul f32"), std::string::npos) << output;
  }
  {
    const auto [status, output] = run_cli(grid + dir + "/f16 --matmul f16");
    EXPECT_NE(status, 0);
    EXPECT_NE(output.find("--matmul must be f32 or bf16"), std::string::npos) << output;
  }
  {
    const auto [status, output] = run_cli(grid + dir + "/bf16 --matmul bf16");
    ASSERT_EQ(status, 0) << output;
    const auto bf16_rows = rows_by_key(dir + "/bf16/results.jsonl");
    EXPECT_EQ(bf16_rows.size(), rows.size());
    for (const auto& [key, row] : bf16_rows) EXPECT_EQ(Json::parse(row)["matmul"], "bf16") << key;
  }

  // Two shards then merge: the same rows (timing aside) and the same report table.
  const std::string sharded = dir + "/sharded";
  for (const char* shard : {"0/2", "1/2"}) {
    const auto [status, output] = run_cli(grid + sharded + " --shard " + shard);
    ASSERT_EQ(status, 0) << output;
  }
  ASSERT_EQ(run_cli("niah --out " + sharded + " --merge").first, 0);
  EXPECT_EQ(rows_by_key(sharded + "/results.jsonl"), rows);
  ASSERT_EQ(run_cli("report " + sharded).first, 0);
  EXPECT_EQ(read_file(sharded + "/report/summary.md"), summary);

  // Every arm running its own prefill gives the same rows.
  const std::string separate = dir + "/separate";
  ASSERT_EQ(run_cli(grid + separate + " --no-share-prefill").first, 0);
  EXPECT_EQ(rows_by_key(separate + "/results.jsonl"), rows);
}

}  // namespace
}  // namespace ratkv::testing
