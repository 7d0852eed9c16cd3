// The H1/H2 report sections against hand-computed values.
#include <gtest/gtest.h>

#include <cmath>

#include "base/error.h"
#include "eval/hypotheses.h"
#include "eval/report.h"

namespace ratkv::eval {
namespace {

ResultRow row(const std::string& model, const std::string& method, const std::string& budget,
              const std::string& task, int64_t sample, double score) {
  ResultRow r;
  r.model = model;
  r.method = method;
  r.budget = budget;
  r.task = task;
  r.length = 4096;
  r.sample = sample;
  r.score = score;
  return r;
}

ResultRow hit_row(const std::string& model, const std::string& task, int64_t sample, const std::string& hits,
                  double mass) {
  ResultRow r = row(model, "quest:b=64", "1/8", task, sample, 0.0);
  r.diagnostics["head_hits"] = hits;
  r.diagnostics["heads"] = 2;
  r.diagnostics["captured_mass"] = mass;
  return r;
}

const std::vector<std::string>* find_row(const TextTable& t, const std::vector<std::string>& prefix) {
  for (const auto& r : t.rows)
    if (std::equal(prefix.begin(), prefix.end(), r.begin())) return &r;
  return nullptr;
}

TEST(EvalHypotheses, HeadHitRatesByHand) {
  // 4 heads (2 layers × 2). Head 0: 3/3, head 1: 1/3, head 2: 1/2 ('-' not counted), head 3: 0/3.
  const std::vector<ResultRow> rows = {hit_row("a", "niah_single_1", 0, "1100", 0.5),
                                       hit_row("a", "niah_single_1", 1, "1010", 0.7),
                                       hit_row("a", "niah_single_1", 2, "10-0", 0.9)};
  const HeadHitRates h = head_hit_rates({&rows[0], &rows[1], &rows[2]});
  EXPECT_EQ(h.heads, (std::vector<int64_t>{0, 2, 1, 3}));
  ASSERT_EQ(h.rates.size(), 4u);
  EXPECT_DOUBLE_EQ(h.rates[0], 1.0);
  EXPECT_DOUBLE_EQ(h.rates[1], 0.5);
  EXPECT_DOUBLE_EQ(h.rates[2], 1.0 / 3);
  EXPECT_DOUBLE_EQ(h.rates[3], 0.0);
  EXPECT_NEAR(h.captured_mass, 0.7, 1e-12);
  EXPECT_EQ(h.samples, 3);

  ResultRow bad = hit_row("a", "niah_single_1", 3, "10", 0.5);
  EXPECT_THROW(head_hit_rates({&rows[0], &bad}), Error);
}

TEST(EvalHypotheses, H1TableRanksAndAveragesOverTasks) {
  std::vector<ResultRow> rows = {
      hit_row("a", "niah_single_1", 0, "1100", 0.5), hit_row("a", "niah_single_1", 1, "1010", 0.7),
      hit_row("a", "niah_single_1", 2, "10-0", 0.9),
      // MK-3: head 3 hits twice, head 0 once: rates 0.5, 0, 0, 1.
      hit_row("a", "niah_multikey_3", 0, "1001", 0.2), hit_row("a", "niah_multikey_3", 1, "0001", 0.4)};
  rows.push_back(row("a", "dense", "1", "niah_single_1", 0, 100.0));  // no diagnostics: not in H1
  const auto tables = hypothesis_tables(rows);
  ASSERT_EQ(tables.size(), 1u);  // H1 only: no random arm
  const TextTable& t = tables[0];
  ASSERT_EQ(t.rows.size(), 3u);
  const auto* s1 = find_row(t, {"quest:b=64", "1/8", "S-1", "a"});
  ASSERT_TRUE(s1);
  // #1, #10, #50, top-50 mean (all 4 heads), heads, mass, n.
  EXPECT_EQ(std::vector<std::string>(s1->begin() + 4, s1->end()),
            (std::vector<std::string>{"1.000", "–", "–", "0.458", "4", "0.700", "3"}));
  // Avg: mean rates over the two tasks: head 0 (1 + 0.5)/2 = 0.75, head 1 (1/3 + 0)/2 = 1/6,
  // head 2 (0.5 + 0)/2 = 0.25, head 3 (0 + 1)/2 = 0.5 → top-50 mean 1.6667/4 = 0.417; mass (0.7 + 0.3)/2.
  const auto* avg = find_row(t, {"quest:b=64", "1/8", "Avg", "a"});
  ASSERT_TRUE(avg);
  EXPECT_EQ(std::vector<std::string>(avg->begin() + 4, avg->end()),
            (std::vector<std::string>{"0.750", "–", "–", "0.417", "4", "0.500", "5"}));
}

TEST(EvalHypotheses, H2MeanAndSdOverSeedsNextToOracleAndRealSelector) {
  std::vector<ResultRow> rows;
  // S-1 per-seed means 50, 100, 0 → mean 50, sd 50. MK-3 per-seed means 100, 100, 40 → mean 80, sd 34.64.
  // Avg per seed: 75, 100, 20 → mean 65, sd sqrt(((10)² + 35² + 45²)/2) = 40.93.
  const double s1[3][2] = {{100, 0}, {100, 100}, {0, 0}};
  const double mk3[3][2] = {{100, 100}, {100, 100}, {80, 0}};
  for (int seed = 0; seed < 3; ++seed) {
    const std::string m = "quest:b=64:random:seed=" + std::to_string(seed);
    for (int i = 0; i < 2; ++i) {
      rows.push_back(row("a", m, "1/4", "niah_single_1", i, s1[seed][i]));
      rows.push_back(row("a", m, "1/4", "niah_multikey_3", i, mk3[seed][i]));
    }
  }
  for (int i = 0; i < 2; ++i) {
    rows.push_back(row("a", "quest:b=64", "1/4", "niah_single_1", i, 100));
    rows.push_back(row("a", "quest:b=64", "1/8", "niah_single_1", i, 0));  // another budget: not shown
    rows.push_back(row("a", "oracle", "1/4", "niah_single_1", i, i == 0 ? 100 : 50));
  }
  const auto tables = hypothesis_tables(rows);
  ASSERT_EQ(tables.size(), 1u);
  const TextTable& t = tables[0];
  EXPECT_EQ(t.header, (std::vector<std::string>{"Method", "Budget", "Model", "S-1", "MK-3", "Avg", "seeds"}));
  ASSERT_EQ(t.rows.size(), 3u);
  EXPECT_EQ(t.rows[0], (std::vector<std::string>{"quest:b=64:random", "1/4", "a", "50.00 ± 50.00",
                                                 "80.00 ± 34.64", "65.00 ± 40.93", "3"}));
  EXPECT_EQ(t.rows[1], (std::vector<std::string>{"quest:b=64", "1/4", "a", "100.00", "–", "100.00", "–"}));
  EXPECT_EQ(t.rows[2], (std::vector<std::string>{"oracle", "1/4", "a", "75.00", "–", "75.00", "–"}));
  EXPECT_NE(markdown_hypotheses(tables).find("| quest:b=64:random | 1/4 | a | 50.00 ± 50.00 |"),
            std::string::npos);
  EXPECT_EQ(markdown_hypotheses({}), "");
}

}  // namespace
}  // namespace ratkv::eval
