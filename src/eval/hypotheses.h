#pragma once
// The report sections of the hypothesis presets (docs/niah.md "Presets"), computed from the result rows:
//
// H1 (selection stage): per (length, arm, model, task) the strict hit rate of each head — the fraction of
// samples whose gold positions it selected at every decode step with one (diagnostics.head_hits: '1' hit,
// '0' miss, '-' no gold step, not counted) — heads ranked best first and the top 50 summarised, next to the
// captured softmax mass; the "Avg" row ranks heads by their mean rate over the tasks.
// H2 (computation stage): arms with random scores (":random") or the random selector, one per seed —
// accuracy as the mean ± sample sd over seeds of the per-seed mean score, per task and for the average over
// tasks; the oracle arms and the real selector (the same label without ":random") at the same budgets next
// to them.
#include <cstdint>
#include <string>
#include <vector>

#include "eval/results.h"

namespace ratkv::eval {

struct TextTable {
  std::string title, note;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

// Strict hit rates of the heads of one cell's samples, best first (ties: lower layer, then head).
struct HeadHitRates {
  std::vector<double> rates;   // heads with at least one sample that had a gold step
  std::vector<int64_t> heads;  // their index layer * heads_per_layer + head, same order
  double captured_mass = 0.0;  // mean over samples of diagnostics.captured_mass
  int64_t samples = 0;
};
// Fails naming the row when head_hits strings of one cell differ in length.
HeadHitRates head_hit_rates(const std::vector<const ResultRow*>& rows);

struct SeedSpread {
  double mean = 0.0, sd = 0.0;  // sd: n - 1 denominator, 0 for one seed
  int64_t seeds = 0;
};
SeedSpread seed_spread(const std::vector<double>& per_seed);

// The H1 table when any row carries head_hits, the H2 table when any arm is a seeded random one; empty
// otherwise. One table per length.
std::vector<TextTable> hypothesis_tables(const std::vector<ResultRow>& rows);

}  // namespace ratkv::eval
