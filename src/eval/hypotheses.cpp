#include "eval/hypotheses.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "base/error.h"
#include "eval/grid.h"
#include "eval/report.h"
#include "eval/stats.h"
#include "niah/task_spec.h"

namespace ratkv::eval {

namespace {

constexpr size_t kTopHeads = 50;  // the seed paper compares the 50 best heads

std::string fmt(double v, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string task_label(const std::string& task) {
  for (const auto& t : niah::niah_tasks())
    if (t.name == task) return t.label;
  return task;
}

const std::string* head_hits_of(const ResultRow& r) {
  const auto it = r.diagnostics.find("head_hits");
  return it != r.diagnostics.end() && it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
}

// Ranks heads by rate, best first; ties keep the lower index first (stable over the index order).
void rank(const std::map<int64_t, double>& rate_by_head, HeadHitRates* out) {
  std::vector<std::pair<int64_t, double>> v(rate_by_head.begin(), rate_by_head.end());
  std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  out->heads.clear();
  out->rates.clear();
  for (const auto& [head, rate] : v) out->heads.push_back(head), out->rates.push_back(rate);
}

// #1, #10, #50 (the rate of the head at that rank), the mean of the top 50, the number of heads ranked.
std::vector<std::string> rank_cells(const HeadHitRates& h) {
  auto at = [&h](size_t rank) { return h.rates.size() >= rank ? fmt(h.rates[rank - 1], 3) : "–"; };
  const size_t top = std::min(kTopHeads, h.rates.size());
  double sum = 0.0;
  for (size_t i = 0; i < top; ++i) sum += h.rates[i];
  return {at(1), at(10), at(50), top ? fmt(sum / static_cast<double>(top), 3) : "–",
          std::to_string(h.rates.size())};
}

std::map<int64_t, double> rate_map(const HeadHitRates& h) {
  std::map<int64_t, double> m;
  for (size_t i = 0; i < h.heads.size(); ++i) m[h.heads[i]] = h.rates[i];
  return m;
}

std::string split_arm(const std::string& arm, std::string* budget) {
  const size_t at = arm.rfind('@');
  *budget = arm.substr(at + 1);
  return arm.substr(0, at);
}

std::vector<TextTable> h1_tables(const std::vector<ResultRow>& rows) {
  // Cells in first-seen order of arms and models, tasks in RULER order.
  std::vector<std::string> arms, models;
  std::set<std::string> task_set;
  std::set<int64_t> lengths;
  std::map<std::tuple<int64_t, std::string, std::string, std::string>, std::vector<const ResultRow*>> cells;
  for (const auto& r : rows) {
    if (!head_hits_of(r)) continue;
    const std::string arm = r.arm();
    if (std::find(arms.begin(), arms.end(), arm) == arms.end()) arms.push_back(arm);
    if (std::find(models.begin(), models.end(), r.model) == models.end()) models.push_back(r.model);
    task_set.insert(r.task);
    lengths.insert(r.length);
    cells[{r.length, arm, r.model, r.task}].push_back(&r);
  }
  std::vector<std::string> tasks;
  for (const auto& t : niah::niah_tasks())
    if (task_set.erase(t.name)) tasks.push_back(t.name);
  tasks.insert(tasks.end(), task_set.begin(), task_set.end());

  std::vector<TextTable> out;
  for (int64_t length : lengths) {
    TextTable t;
    t.title = "H1: strict per-head hit rate of the gold positions, length " + std::to_string(length);
    t.note =
        "Per head: the fraction of samples whose gold positions it selected at every answer step (samples "
        "without a gold step not counted). Heads ranked best first; #k is the rate of the k-th head, top-50 "
        "the "
        "mean of the 50 best (all when fewer); Avg ranks heads by their mean rate over the tasks. Mass: the "
        "captured softmax mass, mean over samples and heads.";
    t.header = {"Method", "Budget", "Task", "Model", "#1", "#10", "#50", "top-50 mean", "heads", "mass", "n"};
    for (const auto& arm : arms) {
      std::string budget;
      const std::string method = split_arm(arm, &budget);
      for (const auto& model : models) {
        std::map<int64_t, std::pair<double, int64_t>> sum_by_head;  // head → (sum of task rates, tasks)
        double mass = 0.0;
        int64_t n = 0, task_count = 0;
        for (const auto& task : tasks) {
          const auto it = cells.find({length, arm, model, task});
          if (it == cells.end()) continue;
          const HeadHitRates h = head_hit_rates(it->second);
          auto row = std::vector<std::string>{method, budget, task_label(task), model};
          for (auto& c : rank_cells(h)) row.push_back(c);
          row.push_back(fmt(h.captured_mass, 3));
          row.push_back(std::to_string(h.samples));
          t.rows.push_back(row);
          for (const auto& [head, rate] : rate_map(h)) {
            sum_by_head[head].first += rate;
            sum_by_head[head].second += 1;
          }
          mass += h.captured_mass;
          n += h.samples;
          ++task_count;
        }
        if (task_count < 2) continue;
        std::map<int64_t, double> mean_rate;
        for (const auto& [head, s] : sum_by_head) mean_rate[head] = s.first / static_cast<double>(s.second);
        HeadHitRates avg;
        rank(mean_rate, &avg);
        auto row = std::vector<std::string>{method, budget, "Avg", model};
        for (auto& c : rank_cells(avg)) row.push_back(c);
        row.push_back(fmt(mass / static_cast<double>(task_count), 3));
        row.push_back(std::to_string(n));
        t.rows.push_back(row);
      }
    }
    out.push_back(std::move(t));
  }
  return out;
}

// "quest:b=64:random:seed=3" without the seed (and, with drop_random, without ":random"): options in
// sorted order so that labels written in another order still match.
std::string canonical(const MethodLabel& m, bool drop_random) {
  std::string s = m.name;
  for (const auto& [key, value] : m.options) {
    if (key == "seed" || (drop_random && key == "random")) continue;
    s += ":" + key + (value.empty() ? "" : "=" + value);
  }
  return s;
}

bool parse_label(const std::string& label, MethodLabel* m) {
  try {
    *m = MethodLabel::parse(label);
    return true;
  } catch (const Error&) {
    return false;  // rows of a method this build does not know: not part of H2
  }
}

std::vector<TextTable> h2_tables(const std::vector<ResultRow>& rows) {
  const ResultTable table = tabulate(rows);
  std::vector<TextTable> out;
  for (int64_t length : table.lengths) {
    // Random groups: (label without seed, budget) → its arms (one per seed), first-seen order.
    std::vector<std::pair<std::string, std::string>> groups;
    std::map<std::pair<std::string, std::string>, std::vector<std::string>> seeds;
    for (const auto& arm : table.arms) {
      std::string budget;
      MethodLabel m;
      if (!parse_label(split_arm(arm, &budget), &m) || !m.random()) continue;
      const auto key = std::make_pair(canonical(m, false), budget);
      if (!seeds.count(key)) groups.push_back(key);
      seeds[key].push_back(arm);
    }
    if (groups.empty()) continue;
    TextTable t;
    t.title = "H2: accuracy under random selection, length " + std::to_string(length);
    t.note =
        "Random rows: mean ± sd (n − 1) over seeds of the per-seed mean score; Avg: per seed the mean over "
        "tasks, then mean ± sd over seeds. Next to them, single runs of the real selector (the same label "
        "without :random) and of the oracle at the same budget.";
    t.header = {"Method", "Budget", "Model"};
    for (const auto& task : table.tasks) t.header.push_back(task_label(task));
    t.header.push_back("Avg");
    t.header.push_back("seeds");
    auto cell_mean = [&](const std::string& arm, const std::string& model, const std::string& task,
                         double* v) {
      const SampleScores* s = table.find(length, arm, model, task);
      if (!s || s->empty()) return false;
      double sum = 0.0;
      for (const auto& [id, score] : *s) sum += score;
      *v = sum / static_cast<double>(s->size());
      return true;
    };
    // One row per model for a set of arms (seeds): mean ± sd, or a plain mean for a single arm.
    auto add_rows = [&](const std::string& label, const std::string& budget,
                        const std::vector<std::string>& group, bool spread) {
      for (const auto& model : table.models) {
        std::vector<std::string> row = {label, budget, model};
        std::vector<double> seed_avg(group.size(), 0.0);
        std::vector<int64_t> seed_tasks(group.size(), 0);
        bool any = false;
        for (const auto& task : table.tasks) {
          std::vector<double> per_seed;
          for (size_t k = 0; k < group.size(); ++k) {
            double v = 0.0;
            if (!cell_mean(group[k], model, task, &v)) continue;
            per_seed.push_back(v);
            seed_avg[k] += v;
            ++seed_tasks[k];
          }
          if (per_seed.empty()) {
            row.push_back("–");
            continue;
          }
          any = true;
          const SeedSpread s = seed_spread(per_seed);
          row.push_back(spread ? fmt(s.mean, 2) + " ± " + fmt(s.sd, 2) : fmt(s.mean, 2));
        }
        if (!any) continue;
        std::vector<double> avg;
        for (size_t k = 0; k < group.size(); ++k)
          if (seed_tasks[k] > 0) avg.push_back(seed_avg[k] / static_cast<double>(seed_tasks[k]));
        const SeedSpread s = seed_spread(avg);
        row.push_back(spread ? fmt(s.mean, 2) + " ± " + fmt(s.sd, 2) : fmt(s.mean, 2));
        row.push_back(spread ? std::to_string(s.seeds) : "–");
        t.rows.push_back(row);
      }
    };
    std::vector<std::string> budgets;
    for (const auto& key : groups) {
      add_rows(key.first, key.second, seeds[key], true);
      if (std::find(budgets.begin(), budgets.end(), key.second) == budgets.end())
        budgets.push_back(key.second);
      // The real selector: same label without :random and seed, same budget.
      MethodLabel base;
      parse_label(key.first, &base);
      for (const auto& arm : table.arms) {
        std::string budget;
        MethodLabel m;
        if (!parse_label(split_arm(arm, &budget), &m) || m.random() || budget != key.second) continue;
        if (m.name == base.name && canonical(m, true) == canonical(base, true))
          add_rows(split_arm(arm, &budget), budget, {arm}, false);
      }
    }
    for (const auto& arm : table.arms) {
      std::string budget;
      MethodLabel m;
      if (parse_label(split_arm(arm, &budget), &m) && m.name == "oracle" &&
          std::find(budgets.begin(), budgets.end(), budget) != budgets.end())
        add_rows(split_arm(arm, &budget), budget, {arm}, false);
    }
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace

HeadHitRates head_hit_rates(const std::vector<const ResultRow*>& rows) {
  HeadHitRates out;
  std::vector<int64_t> hits, counted;
  double mass = 0.0;
  for (const ResultRow* r : rows) {
    const std::string* s = head_hits_of(*r);
    if (!s) continue;
    if (hits.empty()) hits.assign(s->size(), 0), counted.assign(s->size(), 0);
    require(s->size() == hits.size(), "results: ", r->key(), ": head_hits has ", s->size(),
            " heads where the other samples of its cell have ", hits.size());
    for (size_t i = 0; i < s->size(); ++i) {
      if ((*s)[i] == '-') continue;
      ++counted[i];
      if ((*s)[i] == '1') ++hits[i];
    }
    const auto it = r->diagnostics.find("captured_mass");
    if (it != r->diagnostics.end() && it->is_number()) mass += it->get<double>();
    ++out.samples;
  }
  std::map<int64_t, double> rate;
  for (size_t i = 0; i < hits.size(); ++i)
    if (counted[i] > 0)
      rate[static_cast<int64_t>(i)] = static_cast<double>(hits[i]) / static_cast<double>(counted[i]);
  rank(rate, &out);
  out.captured_mass = out.samples ? mass / static_cast<double>(out.samples) : 0.0;
  return out;
}

SeedSpread seed_spread(const std::vector<double>& per_seed) {
  return {mean(per_seed), sample_sd(per_seed), static_cast<int64_t>(per_seed.size())};
}

std::vector<TextTable> hypothesis_tables(const std::vector<ResultRow>& rows) {
  std::vector<TextTable> out = h1_tables(rows);
  for (auto& t : h2_tables(rows)) out.push_back(std::move(t));
  return out;
}

}  // namespace ratkv::eval
