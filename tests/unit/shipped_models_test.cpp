// The trained pair under models/ stays usable: each model loads with its own tokenizer, has the documented
// shape, and still retrieves needles. niah_single_1 (noise haystack, a 7-digit value) at 1,024 tokens is the
// easiest task; both models scored 100 on every evaluation sample of it at 4,096 tokens (docs/results.md),
// so a mean below 75 here means the engine or the files broke, not the models' skill.
#include <gtest/gtest.h>

#include <fstream>

#include "base/json.h"
#include "test_util.h"

namespace ratkv::testing {
namespace {

struct Shipped {
  const char* dir;
  const char* memory_line;  // what `ratkv inspect` prints for the memory
};

constexpr Shipped kShipped[] = {{"models/ratplus-mem-s0", "8 of 8 layers"},
                                {"models/ratplus-attn-s0", "0 of 8 layers"}};

TEST(ShippedModels, LoadWithTheirTokenizerAndHaveTheDocumentedShape) {
  for (const auto& m : kShipped) {
    const std::string dir = std::string(RATKV_SOURCE_DIR) + "/" + m.dir;
    const auto [status, output] = run_cli("inspect -m " + dir);
    ASSERT_EQ(status, 0) << output;
    EXPECT_NE(output.find("family:         ratplus"), std::string::npos) << output;
    EXPECT_NE(output.find("layers:         8, hidden 320"), std::string::npos) << output;
    EXPECT_NE(output.find("memory:         " + std::string(m.memory_line)), std::string::npos) << output;
    EXPECT_NE(output.find("weights dtype:  BF16"), std::string::npos) << output;
    EXPECT_NE(output.find("tokenizer.model"), std::string::npos) << output;
  }
}

TEST(ShippedModels, RetrieveTheNeedleOfSingle1) {
  const std::string out = temp_dir("shipped_niah");
  const std::string models = std::string("mem=") + RATKV_SOURCE_DIR + "/" + kShipped[0].dir +
                             ",attn=" + RATKV_SOURCE_DIR + "/" + kShipped[1].dir;
  const auto [status, output] = run_cli("niah --models " + models +
                                        " --sparse dense --tasks niah_single_1 --lengths 1024 --samples 4 "
                                        "--tokens-to-generate 16 --no-progress -t 2 --out " +
                                        out);
  ASSERT_EQ(status, 0) << output;
  std::ifstream in(out + "/results.jsonl");
  double sum[2] = {0, 0};
  int rows[2] = {0, 0};
  for (std::string line; std::getline(in, line);) {
    const Json row = Json::parse(line);
    const int which = row["model"].get<std::string>() == "mem" ? 0 : 1;
    sum[which] += row["score"].get<double>();
    ++rows[which];
  }
  for (int which : {0, 1}) {
    ASSERT_EQ(rows[which], 4) << kShipped[which].dir;
    EXPECT_GE(sum[which] / rows[which], 75.0) << kShipped[which].dir << " no longer retrieves the needle";
  }
}

}  // namespace
}  // namespace ratkv::testing
