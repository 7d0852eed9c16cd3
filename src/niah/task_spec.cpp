#include "niah/task_spec.h"

#include "base/error.h"

namespace ratkv::niah {

const std::vector<TaskSpec>& niah_tasks() {
  using H = HaystackKind;
  using N = NeedleKind;
  static const std::vector<TaskSpec> tasks = {
      {"niah_single_1", "S-1", H::Noise, N::Words, N::Numbers, 1, 1, 1},
      {"niah_single_2", "S-2", H::Essay, N::Words, N::Numbers, 1, 1, 1},
      {"niah_single_3", "S-3", H::Essay, N::Words, N::Uuids, 1, 1, 1},
      {"niah_multikey_1", "MK-1", H::Essay, N::Words, N::Numbers, 4, 1, 1},
      {"niah_multikey_2", "MK-2", H::Needle, N::Words, N::Numbers, 1, 1, 1},
      {"niah_multikey_3", "MK-3", H::Needle, N::Uuids, N::Uuids, 1, 1, 1},
      {"niah_multivalue", "MV", H::Essay, N::Words, N::Numbers, 1, 4, 1},
      {"niah_multiquery", "MQ", H::Essay, N::Words, N::Numbers, 4, 1, 4},
  };
  return tasks;
}

const TaskSpec& find_task(const std::string& name) {
  for (const auto& t : niah_tasks())
    if (t.name == name || t.label == name) return t;
  fail("--tasks: unknown NIAH task \"", name, "\" (known: niah_single_1/2/3, niah_multikey_1/2/3, ",
       "niah_multivalue, niah_multiquery, or all)");
}

std::vector<TaskSpec> parse_tasks(const std::string& list) {
  if (list == "all") return niah_tasks();
  std::vector<TaskSpec> out;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = list.find(',', start);
    const std::string item =
        list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    require(!item.empty(), "--tasks: empty task name in \"", list, "\"");
    const TaskSpec& t = find_task(item);
    for (const auto& seen : out) require(seen.name != t.name, "--tasks: task \"", t.name, "\" given twice");
    out.push_back(t);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string needle_kind_plural(NeedleKind kind) {
  switch (kind) {
    case NeedleKind::Words:
      return "words";
    case NeedleKind::Numbers:
      return "numbers";
    case NeedleKind::Uuids:
      return "uuids";
  }
  return "words";
}

}  // namespace ratkv::niah
