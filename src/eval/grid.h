#pragma once
// The experiment grid of `ratkv niah`: models × arms (a sparse method label with a budget) × tasks × lengths
// × samples, the named presets (the seed paper's grid, the H1 and H2 experiments), and sharding. A method
// label is a selector name with options after colons: "quest", "quest:b=16", "moba:b=128",
// "snapkv:random:seed=3" (docs/niah.md lists them). Dense has the single budget "1".
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "niah/task_spec.h"

namespace ratkv::eval {

struct Arm {
  std::string method;  // label, e.g. "quest:b=16"
  std::string budget;  // "1/4", "256" or "1" (dense)
  bool operator==(const Arm&) const = default;
};

struct MethodLabel {
  std::string name;                                    // dense, quest, moba, snapkv, oracle, random
  std::map<std::string, std::string> options;          // b=64, w=64, seed=3, and the flag random=""
  static MethodLabel parse(const std::string& label);  // fails naming --sparse
  bool random() const { return name == "random" || options.count("random"); }
  // Decode-only methods run a dense prefill: dense, quest, snapkv (it selects after the prefill), oracle,
  // random; moba, streaming and dilated change the prompt's attention. The engine session shares one prefill
  // among the first kind (it asks the engine: prefill_is_dense).
  bool dense_prefill() const { return name != "moba" && name != "streaming" && name != "dilated"; }
};

struct ModelRef {
  std::string name, path;
};

struct GridSpec {
  std::vector<ModelRef> models;
  std::vector<Arm> arms;
  std::vector<niah::TaskSpec> tasks;
  std::vector<int64_t> lengths = {4096};
  int64_t samples = 100;
  bool diagnostics = false;  // selection diagnostics (gold hits, captured mass): slower
  std::string preset;
};

// Arms for --sparse M1,M2 × --budgets B1,B2 (dense gets "1" once).
std::vector<Arm> make_arms(const std::vector<std::string>& methods, const std::vector<std::string>& budgets);
// "seed" (the seed paper's grid, 500 samples), "h1" (Quest and SnapKV with diagnostics), "h2" (random
// selectors, 5 seeds, budget 1/4, plus the oracle), "smoke" (a tiny grid for checks). Models and lengths are
// not set by a preset. Fails listing the names.
GridSpec preset_grid(const std::string& name);
std::vector<std::string> split_list(const std::string& text, char sep = ',');

// A budget's fraction of the context (for plots): "1/8" → 0.125, "256" → 256 / length, "1" → 1.
double budget_fraction(const std::string& budget, int64_t length);

// --shard i/n: a work unit (task, length, sample) belongs to shard i when its number mod n == i, so that all
// cells of one sample stay together (they may share a prefill).
struct Shard {
  int64_t index = 0, count = 1;
  static Shard parse(const std::string& text);
  bool owns(int64_t unit) const { return unit % count == index; }
  std::string suffix() const;  // "" or ".shard-i-of-n"
};

}  // namespace ratkv::eval
