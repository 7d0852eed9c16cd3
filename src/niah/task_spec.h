#pragma once
// The eight RULER NIAH tasks (RULER scripts/synthetic.yaml) as data: haystack kind, key and value kinds, and
// the needle counts. niah_multiquery's key count is already raised to its query count, as niah.py does with
// `num_needle_k = max(num_needle_k, num_needle_q)`.
#include <cstdint>
#include <string>
#include <vector>

namespace ratkv::niah {

enum class HaystackKind { Noise, Essay, Needle };
enum class NeedleKind { Words, Numbers, Uuids };

struct TaskSpec {
  std::string name;   // RULER's task name, e.g. "niah_multikey_2"
  std::string label;  // the paper's short label, e.g. "MK-2"
  HaystackKind haystack;
  NeedleKind key, value;
  int num_keys, num_values, num_queries;

  int num_needles() const { return num_keys * num_values; }
  // RULER's singular rewrite applies when one value is asked for.
  bool singular() const { return num_queries * num_values == 1; }
};

// All eight, in RULER's order.
const std::vector<TaskSpec>& niah_tasks();
// Fails naming --tasks on an unknown name.
const TaskSpec& find_task(const std::string& name);
// "all" or a comma list of names (or short labels such as MK-2).
std::vector<TaskSpec> parse_tasks(const std::string& list);

// "words", "numbers" or "uuids": the plural RULER writes into needles and templates.
std::string needle_kind_plural(NeedleKind kind);

}  // namespace ratkv::niah
