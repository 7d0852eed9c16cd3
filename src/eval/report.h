#pragma once
// `ratkv report DIR`: reads every results file in DIR and writes DIR/report/{summary.md, report.html,
// plots/*.svg, plots/*.png}. Per cell (model, method, budget, task, length) the mean score with a 95%
// bootstrap interval; the average over tasks (tasks weigh equally, resampled within task); for every pair of
// models the paired difference on the samples both have, its interval and a sign-flip test;
// accuracy-vs-budget plots per method, one line per model, per task and averaged; the H1/H2 sections when the
// results hold those experiments (hypotheses.h). The HTML page holds the SVGs inline: it opens offline.
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "eval/hypotheses.h"
#include "eval/results.h"
#include "eval/stats.h"

namespace ratkv::eval {

// Scores of one (length, method, budget, model, task) by sample id.
using SampleScores = std::map<int64_t, double>;

struct ResultTable {
  std::vector<std::string> models, arms;  // arms as "method@budget", first-seen order
  std::vector<std::string> tasks;         // RULER order
  std::vector<int64_t> lengths;
  // [length][arm][model][task] → scores
  std::map<std::tuple<int64_t, std::string, std::string, std::string>, SampleScores> cells;

  const SampleScores* find(int64_t length, const std::string& arm, const std::string& model,
                           const std::string& task) const;
};

ResultTable tabulate(const std::vector<ResultRow>& rows);
// The markdown summary: per length, the accuracy table (rows method × budget × model, columns tasks + average
// with its interval) and the paired comparisons of every model pair.
std::string markdown_summary(const ResultTable& table, const BootstrapOptions& boot = {});

// The H1/H2 sections (hypotheses.h) as markdown; empty when there are none.
std::string markdown_hypotheses(const std::vector<TextTable>& tables);

struct ReportFiles {
  std::string markdown, html;
  std::vector<std::string> svgs, pngs;
};
ReportFiles write_report(const std::string& dir, const BootstrapOptions& boot = {});

}  // namespace ratkv::eval
