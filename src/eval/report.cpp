#include "eval/report.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "base/error.h"
#include "eval/chart.h"
#include "eval/grid.h"
#include "eval/hypotheses.h"
#include "niah/task_spec.h"

namespace ratkv::eval {

namespace {

std::string fmt(double v, int digits = 1) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string pfmt(double p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, p < 0.001 ? "%.1e" : "%.3f", p);
  return buf;
}

std::string task_label(const std::string& task) {
  for (const auto& t : niah::niah_tasks())
    if (t.name == task) return t.label;
  return task;
}

std::vector<double> values(const SampleScores& s) {
  std::vector<double> v;
  for (const auto& [id, score] : s) v.push_back(score);
  return v;
}

// The scores of two models on the samples both have, in sample order.
void paired(const SampleScores& a, const SampleScores& b, std::vector<double>* va, std::vector<double>* vb) {
  for (const auto& [id, score] : a) {
    const auto it = b.find(id);
    if (it == b.end()) continue;
    va->push_back(score);
    vb->push_back(it->second);
  }
}

std::string split_arm(const std::string& arm, std::string* budget) {
  const size_t at = arm.rfind('@');
  *budget = arm.substr(at + 1);
  return arm.substr(0, at);
}

struct Row {
  std::vector<std::string> cells;
};

std::string markdown_table(const std::vector<std::string>& header, const std::vector<Row>& rows) {
  std::string s = "|";
  for (const auto& h : header) s += " " + h + " |";
  s += "\n|";
  for (size_t i = 0; i < header.size(); ++i) s += "---|";
  s += "\n";
  for (const auto& r : rows) {
    s += "|";
    for (const auto& c : r.cells) s += " " + c + " |";
    s += "\n";
  }
  return s;
}

std::string html_table(const std::vector<std::string>& header, const std::vector<Row>& rows) {
  std::string s = "<table><tr>";
  for (const auto& h : header) s += "<th>" + xml_escape(h) + "</th>";
  s += "</tr>\n";
  for (const auto& r : rows) {
    s += "<tr>";
    for (const auto& c : r.cells) s += "<td>" + xml_escape(c) + "</td>";
    s += "</tr>\n";
  }
  return s + "</table>\n";
}

struct Tables {
  int64_t length;
  std::vector<std::string> acc_header, cmp_header;
  std::vector<Row> acc, cmp;
};

std::vector<Tables> build_tables(const ResultTable& t, const BootstrapOptions& boot) {
  std::vector<Tables> out;
  for (int64_t length : t.lengths) {
    Tables tb;
    tb.length = length;
    tb.acc_header = {"Method", "Budget", "Model"};
    for (const auto& task : t.tasks) tb.acc_header.push_back(task_label(task));
    tb.acc_header.push_back("Avg [95% CI]");
    tb.acc_header.push_back("n");
    tb.cmp_header = {"Method", "Budget",           "Task", "A",    "B", "A mean",
                     "B mean", "Δ (B−A) [95% CI]", "p",    "pairs"};
    for (const auto& arm : t.arms) {
      std::string budget;
      const std::string method = split_arm(arm, &budget);
      std::vector<std::vector<std::vector<double>>> per_model;  // [model][task] scores
      for (const auto& model : t.models) {
        Row r{{method, budget, model}};
        std::vector<std::vector<double>> groups;
        int64_t n = 0;
        for (const auto& task : t.tasks) {
          const SampleScores* s = t.find(length, arm, model, task);
          groups.push_back(s ? values(*s) : std::vector<double>{});
          n += static_cast<int64_t>(groups.back().size());
          r.cells.push_back(s ? fmt(mean(groups.back())) : "–");
        }
        per_model.push_back(groups);
        if (n == 0) continue;
        const Interval avg = bootstrap_mean_of_groups(groups, boot);
        r.cells.push_back(fmt(avg.mean, 2) + " [" + fmt(avg.lo) + ", " + fmt(avg.hi) + "]");
        r.cells.push_back(std::to_string(n));
        tb.acc.push_back(r);
      }
      for (size_t i = 0; i < t.models.size(); ++i)
        for (size_t j = i + 1; j < t.models.size(); ++j) {
          std::vector<std::vector<double>> ga, gb;
          for (size_t k = 0; k < t.tasks.size(); ++k) {
            const SampleScores* a = t.find(length, arm, t.models[i], t.tasks[k]);
            const SampleScores* b = t.find(length, arm, t.models[j], t.tasks[k]);
            std::vector<double> va, vb;
            if (a && b) paired(*a, *b, &va, &vb);
            if (!va.empty()) {
              const PairedComparison c = paired_compare(va, vb, boot);
              tb.cmp.push_back(
                  {{method, budget, task_label(t.tasks[k]), t.models[i], t.models[j], fmt(mean(va)),
                    fmt(mean(vb)), fmt(c.diff.mean, 2) + " [" + fmt(c.diff.lo) + ", " + fmt(c.diff.hi) + "]",
                    pfmt(c.p_value), std::to_string(va.size())}});
            }
            ga.push_back(va);
            gb.push_back(vb);
          }
          int64_t pairs = 0;
          for (const auto& g : ga) pairs += static_cast<int64_t>(g.size());
          if (pairs == 0) continue;
          // Tasks without pairs drop out of the average on both sides.
          std::vector<std::vector<double>> fa, fb;
          for (size_t k = 0; k < ga.size(); ++k)
            if (!ga[k].empty()) fa.push_back(ga[k]), fb.push_back(gb[k]);
          const PairedComparison c = paired_compare_groups(fa, fb, boot);
          double ma = 0, mb = 0;
          for (size_t k = 0; k < fa.size(); ++k) ma += mean(fa[k]) / fa.size(), mb += mean(fb[k]) / fb.size();
          tb.cmp.push_back({{method, budget, "Avg", t.models[i], t.models[j], fmt(ma, 2), fmt(mb, 2),
                             fmt(c.diff.mean, 2) + " [" + fmt(c.diff.lo) + ", " + fmt(c.diff.hi) + "]",
                             pfmt(c.p_value), std::to_string(pairs)}});
        }
    }
    out.push_back(std::move(tb));
  }
  return out;
}

// Per length and method: one chart per task and one for the average; x = budget fraction, a line per model.
std::vector<std::pair<std::string, Chart>> build_charts(const ResultTable& t, const BootstrapOptions& boot) {
  std::vector<std::pair<std::string, Chart>> charts;
  for (int64_t length : t.lengths) {
    std::vector<std::string> methods;
    for (const auto& arm : t.arms) {
      std::string b;
      const std::string m = split_arm(arm, &b);
      if (m != "dense" && std::find(methods.begin(), methods.end(), m) == methods.end()) methods.push_back(m);
    }
    std::vector<std::string> subjects = t.tasks;
    subjects.push_back("avg");
    for (const auto& method : methods)
      for (const auto& subject : subjects) {
        Chart c;
        c.title = method + " - " + (subject == "avg" ? "average over tasks" : task_label(subject)) + " - " +
                  std::to_string(length);
        for (const auto& model : t.models) {
          ChartSeries s;
          s.name = model;
          for (const auto& arm : t.arms) {
            std::string budget;
            const std::string m = split_arm(arm, &budget);
            if (m != method && m != "dense") continue;
            std::vector<std::vector<double>> groups;
            for (const auto& task : t.tasks)
              if (subject == "avg" || task == subject) {
                const SampleScores* sc = t.find(length, arm, model, task);
                if (sc) groups.push_back(values(*sc));
              }
            if (groups.empty()) continue;
            const Interval iv = bootstrap_mean_of_groups(groups, boot);
            s.x.push_back(budget_fraction(budget, length));
            s.y.push_back(iv.mean);
            s.lo.push_back(iv.lo);
            s.hi.push_back(iv.hi);
          }
          if (!s.x.empty()) c.series.push_back(s);
        }
        if (c.series.empty()) continue;
        std::string name = method + "_" + subject + "_" + std::to_string(length);
        for (char& ch : name)
          if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '-') ch = '_';
        charts.emplace_back(name, c);
      }
  }
  return charts;
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  require(out.good(), "cannot write ", path);
  out << bytes;
  require(out.good(), "cannot write ", path);
}

}  // namespace

const SampleScores* ResultTable::find(int64_t length, const std::string& arm, const std::string& model,
                                      const std::string& task) const {
  const auto it = cells.find({length, arm, model, task});
  return it == cells.end() ? nullptr : &it->second;
}

ResultTable tabulate(const std::vector<ResultRow>& rows) {
  ResultTable t;
  std::set<std::string> tasks;
  std::set<int64_t> lengths;
  for (const auto& r : rows) {
    const std::string arm = r.arm();
    if (std::find(t.models.begin(), t.models.end(), r.model) == t.models.end()) t.models.push_back(r.model);
    if (std::find(t.arms.begin(), t.arms.end(), arm) == t.arms.end()) t.arms.push_back(arm);
    tasks.insert(r.task);
    lengths.insert(r.length);
    t.cells[{r.length, arm, r.model, r.task}][r.sample] = r.score;
  }
  for (const auto& known : niah::niah_tasks())
    if (tasks.erase(known.name)) t.tasks.push_back(known.name);
  t.tasks.insert(t.tasks.end(), tasks.begin(), tasks.end());  // non-RULER task names last
  t.lengths.assign(lengths.begin(), lengths.end());
  return t;
}

std::string markdown_summary(const ResultTable& table, const BootstrapOptions& boot) {
  std::string s =
      "# NIAH results\n\nScores: RULER string_match_all (0-100), mean over samples; intervals: 95% "
      "percentile bootstrap; p: two-sided paired sign-flip test.\n";
  for (const auto& tb : build_tables(table, boot)) {
    s += "\n## Length " + std::to_string(tb.length) + "\n\n" + markdown_table(tb.acc_header, tb.acc);
    if (!tb.cmp.empty()) s += "\n### Paired differences\n\n" + markdown_table(tb.cmp_header, tb.cmp);
  }
  return s;
}

std::string markdown_hypotheses(const std::vector<TextTable>& tables) {
  std::string s;
  for (const auto& t : tables) {
    std::vector<Row> rows;
    for (const auto& r : t.rows) rows.push_back({r});
    s += "\n## " + t.title + "\n\n" + t.note + "\n\n" + markdown_table(t.header, rows);
  }
  return s;
}

ReportFiles write_report(const std::string& dir, const BootstrapOptions& boot) {
  const auto rows = load_results(dir);
  require(!rows.empty(), dir, ": no results*.jsonl rows to report");
  const ResultTable table = tabulate(rows);
  const std::string out = dir + "/report", plots = out + "/plots";
  std::filesystem::create_directories(plots);
  ReportFiles files;
  files.markdown = out + "/summary.md";
  const std::vector<TextTable> hypotheses = hypothesis_tables(rows);
  write_file(files.markdown, markdown_summary(table, boot) + markdown_hypotheses(hypotheses));
  std::string html =
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>NIAH report</title><style>"
      "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0;font-size:13px}"
      "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}th{background:#f4f4f4}"
      ".plots{display:flex;flex-wrap:wrap;gap:8px}</style></head><body>\n<h1>NIAH results</h1>\n"
      "<p>Scores: RULER string_match_all (0-100), mean over samples; intervals: 95% percentile bootstrap; p: "
      "two-sided paired sign-flip test.</p>\n";
  for (const auto& tb : build_tables(table, boot)) {
    html += "<h2>Length " + std::to_string(tb.length) + "</h2>\n" + html_table(tb.acc_header, tb.acc);
    if (!tb.cmp.empty()) html += "<h3>Paired differences</h3>\n" + html_table(tb.cmp_header, tb.cmp);
  }
  for (const auto& h : hypotheses) {
    std::vector<Row> hr;
    for (const auto& r : h.rows) hr.push_back({r});
    html += "<h2>" + xml_escape(h.title) + "</h2>\n<p>" + xml_escape(h.note) + "</p>\n" +
            html_table(h.header, hr);
  }
  html += "<h2>Accuracy vs budget</h2>\n<div class=\"plots\">\n";
  for (const auto& [name, chart] : build_charts(table, boot)) {
    const std::string svg = chart_svg(chart);
    const auto png = chart_png(chart);
    files.svgs.push_back(plots + "/" + name + ".svg");
    files.pngs.push_back(plots + "/" + name + ".png");
    write_file(files.svgs.back(), svg);
    write_file(files.pngs.back(), std::string(png.begin(), png.end()));
    html += "<div>" + svg + "</div>\n";
  }
  html += "</div>\n</body></html>\n";
  files.html = out + "/report.html";
  write_file(files.html, html);
  return files;
}

}  // namespace ratkv::eval
