#include "eval/grid.h"

#include <algorithm>

#include "base/error.h"

namespace ratkv::eval {

std::vector<std::string> split_list(const std::string& text, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t at = text.find(sep, start);
    std::string item = text.substr(start, at == std::string::npos ? std::string::npos : at - start);
    if (!item.empty()) out.push_back(item);
    if (at == std::string::npos) break;
    start = at + 1;
  }
  return out;
}

MethodLabel MethodLabel::parse(const std::string& label) {
  const auto parts = split_list(label, ':');
  require(!parts.empty(), "--sparse: empty method");
  MethodLabel m;
  m.name = parts[0];
  static const std::vector<std::string> known = {"dense", "quest", "moba", "snapkv", "oracle", "random"};
  require(std::find(known.begin(), known.end(), m.name) != known.end(), "--sparse: unknown method \"", m.name,
          "\" (known: dense, quest, moba, snapkv, oracle, random)");
  for (size_t i = 1; i < parts.size(); ++i) {
    const size_t eq = parts[i].find('=');
    const std::string key = parts[i].substr(0, eq);
    static const std::vector<std::string> keys = {"b", "w", "seed", "random", "pages"};
    require(std::find(keys.begin(), keys.end(), key) != keys.end(), "--sparse: unknown option \"", key,
            "\" in \"", label, "\" (known: b=BLOCK, w=WINDOW, seed=N, random, pages)");
    m.options[key] = eq == std::string::npos ? "" : parts[i].substr(eq + 1);
  }
  return m;
}

std::vector<Arm> make_arms(const std::vector<std::string>& methods, const std::vector<std::string>& budgets) {
  std::vector<Arm> arms;
  for (const auto& m : methods) {
    const MethodLabel label = MethodLabel::parse(m);
    if (label.name == "dense") {
      arms.push_back({m, "1"});
      continue;
    }
    require(!budgets.empty(), "--budgets: a sparse method needs at least one budget");
    for (const auto& b : budgets) arms.push_back({m, b});
  }
  return arms;
}

GridSpec preset_grid(const std::string& name) {
  GridSpec g;
  g.preset = name;
  g.tasks = niah::niah_tasks();
  if (name == "seed") {
    // The seed paper: Quest B=64 at 1/4..1/16 and B=16 at 1/64; MoBA B=64 at 1/4..1/16 and B=128 at 1/4,
    // 1/8; SnapKV window 64 keeping 1/4..1/16 of 4K (1024/512/256); 500 samples per task.
    g.samples = 500;
    g.arms = {{"dense", "1"}};
    for (const char* b : {"1/4", "1/8", "1/16"}) g.arms.push_back({"quest:b=64", b});
    g.arms.push_back({"quest:b=16", "1/64"});
    for (const char* b : {"1/4", "1/8", "1/16"}) g.arms.push_back({"moba:b=64", b});
    for (const char* b : {"1/4", "1/8"}) g.arms.push_back({"moba:b=128", b});
    for (const char* b : {"1/4", "1/8", "1/16"}) g.arms.push_back({"snapkv:w=64", b});
  } else if (name == "h1") {
    // Selection stage: strict per-head hit rates of the gold positions and captured mass.
    g.samples = 500;
    g.diagnostics = true;
    for (const char* b : {"1/4", "1/8", "1/16"}) {
      g.arms.push_back({"quest:b=64", b});
      g.arms.push_back({"snapkv:w=64", b});
    }
  } else if (name == "h2") {
    // Computation stage: uniform random selection at 1/4 with 5 seeds (redrawn per decode step for Quest,
    // once after prefill for SnapKV, per query for MoBA), and the oracle selector.
    g.samples = 500;
    for (int seed = 0; seed < 5; ++seed) {
      for (const char* m : {"quest:b=64", "moba:b=64", "snapkv:w=64"})
        g.arms.push_back({std::string(m) + ":random:seed=" + std::to_string(seed), "1/4"});
    }
    g.arms.push_back({"oracle", "1/4"});
    g.arms.push_back({"oracle:pages:b=64", "1/4"});
  } else if (name == "smoke") {
    g.samples = 4;
    g.arms = {{"dense", "1"}, {"quest", "1/4"}};
  } else {
    fail("--preset: unknown preset \"", name, "\" (known: seed, h1, h2, smoke)");
  }
  return g;
}

double budget_fraction(const std::string& budget, int64_t length) {
  const size_t slash = budget.find('/');
  try {
    if (slash == std::string::npos) {
      const double v = std::stod(budget);
      return v <= 1.0 ? v : v / static_cast<double>(length);
    }
    return std::stod(budget.substr(0, slash)) / std::stod(budget.substr(slash + 1));
  } catch (const std::exception&) {
    fail("--budgets: cannot read budget \"", budget, "\"");
  }
}

Shard Shard::parse(const std::string& text) {
  Shard s;
  const size_t slash = text.find('/');
  try {
    require(slash != std::string::npos, "");
    s.index = std::stoll(text.substr(0, slash));
    s.count = std::stoll(text.substr(slash + 1));
  } catch (const std::exception&) {
    fail("--shard: expected i/n, got \"", text, "\"");
  }
  require(slash != std::string::npos && s.count >= 1 && s.index >= 0 && s.index < s.count,
          "--shard: expected i/n with 0 <= i < n, got \"", text, "\"");
  return s;
}

std::string Shard::suffix() const {
  return count == 1 ? "" : ".shard-" + std::to_string(index) + "-of-" + std::to_string(count);
}

}  // namespace ratkv::eval
