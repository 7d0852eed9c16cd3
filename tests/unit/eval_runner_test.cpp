// The grid runner with a fake model session: resume skips done cells, shards then merge give the same table
// as one run, and the report is written.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "base/error.h"
#include "eval/report.h"
#include "eval/results.h"
#include "eval/runner.h"
#include "niah/train_split.h"
#include "niah_test_util.h"
#include "test_util.h"

namespace ratkv::eval {
namespace {

// Answers with the value of the queried key's needle in the prompt it last saw, except at budget 1/8 for odd
// samples (so the two arms and two models differ) — deterministic, no model.
class FakeSession final : public ModelSession {
 public:
  explicit FakeSession(std::string name) : name_(std::move(name)) {}
  std::vector<int32_t> encode(std::string_view t) const override { return niah::testing::toy_encode(t); }
  std::vector<int32_t> prompt_ids(const std::string& prompt) const override {
    last_ = prompt;
    return encode(prompt);
  }
  std::string tokenizer_id() const override { return "toy"; }
  std::vector<CellOutcome> run(const std::vector<Arm>& arms, const CellInput& input) override {
    std::vector<CellOutcome> out;
    // The queried key sits in the answer prefix: "... for KEY mentioned in the provided text is".
    const size_t end = last_.rfind(" mentioned in the provided text");
    const size_t begin = last_.rfind(" for ", end) + 5;
    const std::string key = last_.substr(begin, end - begin);
    std::vector<niah::ParsedNeedle> needles;
    for (auto& n : niah::find_needles(last_))
      if (n.key == key) needles.push_back(n);
    const size_t h = std::hash<std::string>()(last_);
    for (const auto& arm : arms) {
      CellOutcome o;
      const bool miss = arm.budget == "1/8" && (h % 2 == 1 || name_ == "b");
      o.text = needles.empty() || miss ? "" : " " + needles[0].value + ".";
      o.stop_reason = "eos";
      out.push_back(o);
    }
    ++calls;
    return out;
  }
  static inline int calls = 0;

 private:
  std::string name_;
  mutable std::string last_;
};

RunOptions options(const std::string& out) {
  RunOptions o;
  // Models, methods and budgets out of alphabetical order: a merge must keep the run's order.
  o.grid.models = {{"b", "/nonexistent/b"}, {"a", "/nonexistent/a"}};
  o.grid.arms = make_arms({"quest", "dense"}, {"1/8", "1/4"});
  o.grid.tasks = {niah::find_task("niah_single_1"), niah::find_task("niah_multikey_3")};
  o.grid.lengths = {400};
  o.grid.samples = 5;
  o.out_dir = out;
  o.progress = false;
  return o;
}

const niah::KeyWords* words() {
  static const niah::KeyWords w =
      niah::KeyWords::from_vectors({"red", "blue", "green"}, {"cat", "dog", "owl", "yak"});
  return &w;
}

SessionFactory factory() {
  return [](const ModelRef& m) { return std::make_unique<FakeSession>(m.name); };
}

std::string table(const std::string& dir) {
  return markdown_summary(tabulate(load_results(dir)), {200, 0.95, 1});
}

TEST(EvalRunner, ResumeAndShardsGiveTheSameTable) {
  const std::string one = ratkv::testing::temp_dir("one");
  const RunSummary s1 = run_grid(options(one), factory(), nullptr, words());
  EXPECT_EQ(s1.cells_total, 2 * 3 * 2 * 5);
  EXPECT_EQ(s1.cells_run, s1.cells_total);
  // A second run finds everything done: no session call.
  FakeSession::calls = 0;
  const RunSummary again = run_grid(options(one), factory(), nullptr, words());
  EXPECT_EQ(again.cells_run, 0);
  EXPECT_EQ(FakeSession::calls, 0);

  // Interrupted run: keep the first 17 rows and a cut-off line, then resume.
  const std::string resumed = ratkv::testing::temp_dir("resumed");
  run_grid(options(resumed), factory(), nullptr, words());
  {
    std::ifstream in(resumed + "/results.jsonl");
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    std::ofstream out(resumed + "/results.jsonl", std::ios::trunc);
    for (int i = 0; i < 17; ++i) out << lines[i] << "\n";
    out << lines[17].substr(0, 25);
  }
  const RunSummary r = run_grid(options(resumed), factory(), nullptr, words());
  EXPECT_EQ(r.cells_skipped, 17);
  EXPECT_EQ(r.cells_run, s1.cells_total - 17);

  const std::string sharded = ratkv::testing::temp_dir("sharded");
  for (int i = 0; i < 3; ++i) {
    RunOptions o = options(sharded);
    o.shard = Shard::parse(std::to_string(i) + "/3");
    run_grid(o, factory(), nullptr, words());
  }
  EXPECT_TRUE(std::filesystem::exists(sharded + "/results.shard-1-of-3.jsonl"));
  EXPECT_EQ(merge_results(sharded), s1.cells_total);
  EXPECT_FALSE(std::filesystem::exists(sharded + "/results.shard-1-of-3.jsonl"));

  const std::string expected = table(one);
  EXPECT_EQ(table(resumed), expected);
  EXPECT_EQ(table(sharded), expected);
  EXPECT_NE(expected.find("| quest | 1/8 | b |"), std::string::npos) << expected;
  EXPECT_NE(expected.find("Paired differences"), std::string::npos);
  // Model b always misses at 1/8, model a sometimes: the paired average row exists, b (listed first) as A.
  EXPECT_NE(expected.find("| quest | 1/8 | Avg | b | a |"), std::string::npos) << expected;
  EXPECT_LT(expected.find("| quest | 1/8 |"), expected.find("| quest | 1/4 |")) << expected;
}

TEST(EvalRunner, ReportFilesAndRows) {
  const std::string dir = ratkv::testing::temp_dir("report");
  run_grid(options(dir), factory(), nullptr, words());
  const auto rows = load_results(dir);
  ASSERT_EQ(rows.size(), 60u);
  for (const auto& r : rows) {
    ASSERT_EQ(r.prompt_hash.size(), 16u);
    if (r.method == "dense") {
      ASSERT_DOUBLE_EQ(r.score, 100.0) << r.task;  // the first needle is the gold one
    }
  }
  const ReportFiles f = write_report(dir, {200, 0.95, 1});
  EXPECT_TRUE(std::filesystem::exists(f.html));
  ASSERT_EQ(f.svgs.size(), 3u);  // quest: S-1, MK-3, average
  ASSERT_EQ(f.pngs.size(), 3u);
  std::ifstream html(f.html);
  const std::string page((std::istreambuf_iterator<char>(html)), {});
  EXPECT_NE(page.find("<svg"), std::string::npos);
  EXPECT_EQ(page.find("http://"), page.find("http://www.w3.org"));  // no external resource
}

TEST(EvalGrid, PresetsArmsAndShards) {
  const GridSpec seed = preset_grid("seed");
  EXPECT_EQ(seed.samples, 500);
  EXPECT_EQ(seed.arms.size(), 1u + 4 + 3 + 2 + 3);
  EXPECT_EQ(preset_grid("h2").arms.size(), 17u);
  EXPECT_THROW(preset_grid("nope"), Error);
  EXPECT_EQ(make_arms({"dense", "snapkv:w=64"}, {"1/4"}).size(), 2u);
  EXPECT_THROW(MethodLabel::parse("quest:zz=1"), Error);
  EXPECT_TRUE(MethodLabel::parse("moba:b=128:random:seed=2").random());
  EXPECT_FALSE(MethodLabel::parse("moba").dense_prefill());
  EXPECT_DOUBLE_EQ(budget_fraction("1/16", 4096), 1.0 / 16);
  EXPECT_DOUBLE_EQ(budget_fraction("1024", 4096), 0.25);
  EXPECT_THROW(Shard::parse("3/3"), Error);
  EXPECT_EQ(Shard::parse("1/4").suffix(), ".shard-1-of-4");
}

}  // namespace
}  // namespace ratkv::eval
