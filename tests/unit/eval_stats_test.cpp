// Statistics against hand-computed values, and the PNG/SVG/raster plumbing of the report.
#include <gtest/gtest.h>

#include <cmath>

#include "base/error.h"
#include "eval/chart.h"
#include "eval/painter.h"
#include "eval/png.h"
#include "eval/stats.h"

namespace ratkv::eval {
namespace {

TEST(EvalStats, MeanSdQuantile) {
  EXPECT_DOUBLE_EQ(mean({1, 2, 3, 4}), 2.5);
  EXPECT_NEAR(sample_sd({2, 4, 4, 4, 5, 5, 7, 9}), std::sqrt(32.0 / 7.0), 1e-12);
  EXPECT_DOUBLE_EQ(quantile_sorted({0, 10, 20, 30}, 0.5), 15.0);
  EXPECT_DOUBLE_EQ(quantile_sorted({0, 10, 20, 30}, 0.025), 0.75);  // pos 0.075 → 0.75
  EXPECT_DOUBLE_EQ(quantile_sorted({5}, 0.9), 5.0);
}

TEST(EvalStats, BootstrapIntervals) {
  const Interval c = bootstrap_mean({50, 50, 50});
  EXPECT_DOUBLE_EQ(c.mean, 50);
  EXPECT_DOUBLE_EQ(c.lo, 50);
  EXPECT_DOUBLE_EQ(c.hi, 50);
  std::vector<double> x;
  for (int i = 0; i < 200; ++i) x.push_back(i % 4 == 0 ? 0.0 : 100.0);  // mean 75, se ≈ 3.06
  const Interval b = bootstrap_mean(x);
  EXPECT_DOUBLE_EQ(b.mean, 75.0);
  EXPECT_NEAR(b.lo, 75.0 - 1.96 * std::sqrt(75.0 * 25.0 / 200.0), 1.5);
  EXPECT_NEAR(b.hi, 75.0 + 1.96 * std::sqrt(75.0 * 25.0 / 200.0), 1.5);
  const Interval again = bootstrap_mean(x);
  EXPECT_EQ(again.lo, b.lo);  // seeded: the same report on every run
  // Tasks weigh equally: (100 + 0) / 2 whatever the group sizes.
  const Interval g = bootstrap_mean_of_groups({{100, 100, 100, 100}, {0}});
  EXPECT_DOUBLE_EQ(g.mean, 50.0);
  EXPECT_DOUBLE_EQ(g.lo, 50.0);
}

TEST(EvalStats, SignFlipTestHandComputed) {
  bool exact = false;
  // Three equal positive differences: of the 8 sign patterns only all-plus and all-minus reach |3|.
  EXPECT_DOUBLE_EQ(sign_flip_p_value({1, 1, 1}, {1, 1, 1}, 0, 0, &exact), 2.0 / 8.0);
  EXPECT_TRUE(exact);
  // Zero differences drop out: the same as above.
  EXPECT_DOUBLE_EQ(sign_flip_p_value({1, 0, 1, 0, 1}, {1, 1, 1, 1, 1}, 0, 0, &exact), 0.25);
  // {1, 2, 3}: sums of ±1 ±2 ±3 are 6, 4, 2, 0, 0, -2, -4, -6; |s| >= 6 in 2 of 8.
  EXPECT_DOUBLE_EQ(sign_flip_p_value({1, 2, 3}, {1, 1, 1}, 0, 0, &exact), 0.25);
  // {3, -1, 1}: observed |3|; sums: 3, 1, 5, 3, -3, -5, -1, -3 → |s| >= 3 in 6 of 8.
  EXPECT_DOUBLE_EQ(sign_flip_p_value({3, -1, 1}, {1, 1, 1}, 0, 0, &exact), 0.75);
  EXPECT_DOUBLE_EQ(sign_flip_p_value({0, 0}, {1, 1}, 0, 0, &exact), 1.0);
  // Monte Carlo beyond 20 differing pairs: all 30 positive → p = 1 / (R + 1).
  std::vector<double> d(30, 1.0), w(30, 1.0);
  EXPECT_DOUBLE_EQ(sign_flip_p_value(d, w, 999, 1, &exact), 1.0 / 1000.0);
  EXPECT_FALSE(exact);
}

TEST(EvalStats, PairedComparison) {
  const PairedComparison c = paired_compare({0, 100, 100, 0, 100}, {100, 100, 100, 100, 100});
  EXPECT_DOUBLE_EQ(c.diff.mean, 40.0);
  EXPECT_DOUBLE_EQ(c.p_value, 0.5);  // two differences of 100: sums 200, 0, 0, -200; 2 of 4 reach 200
  EXPECT_TRUE(c.exact);
  EXPECT_GE(c.diff.lo, 0.0);
  EXPECT_LE(c.diff.hi, 80.0 + 1e-9);
  // Grouped: mean of per-task differences ((10) + (0)) / 2 = 5.
  const PairedComparison g = paired_compare_groups({{0, 0}, {50}}, {{10, 10}, {50}});
  EXPECT_DOUBLE_EQ(g.diff.mean, 5.0);
  EXPECT_DOUBLE_EQ(g.p_value, 0.5);  // two equal weighted terms: 2 of 4 patterns
  EXPECT_THROW(paired_compare({1, 2}, {1}), Error);
}

TEST(EvalReportGraphics, PngAndRaster) {
  const uint8_t iend[] = {'I', 'E', 'N', 'D'};
  EXPECT_EQ(crc32(iend, 4), 0xAE426082u);  // the constant CRC of every PNG's IEND chunk
  RasterPainter p(40, 20);
  p.text(2, 10, "A", 8, Anchor::Start, Color{0, 0, 0}, false);
  int inked = 0;
  for (int y = 0; y < 20; ++y)
    for (int x = 0; x < 40; ++x) inked += p.inked(x, y);
  EXPECT_EQ(inked, 16);  // the 5x8 "A" (7C 12 11 12 7C) has 16 pixels set
  const auto png = encode_png(p.rgb(), p.width(), p.height());
  ASSERT_GT(png.size(), 60u);
  EXPECT_EQ(png[1], 'P');
  EXPECT_EQ(std::string(png.end() - 8, png.end() - 4), "IEND");
  Chart c;
  c.title = "quest - avg";
  c.series.push_back(
      {"attn", {0.0625, 0.125, 0.25, 1}, {40, 60, 80, 100}, {35, 55, 75, 100}, {45, 65, 85, 100}});
  const std::string svg = chart_svg(c);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("1/16"), std::string::npos);
  EXPECT_NE(svg.find("attn"), std::string::npos);
  const auto chart = chart_png(c);
  EXPECT_LT(chart.size(), 200000u);  // compressed: far below the 768 KB of raw pixels
}

}  // namespace
}  // namespace ratkv::eval
