#include "niah/ruler_jsonl.h"

#include <filesystem>
#include <fstream>

#include "base/error.h"
#include "base/json.h"

namespace ratkv::niah {

std::string sample_to_json_line(const NiahSample& s) {
  Json j = Json::object();
  // RULER's fields first, in its order (nlohmann keeps insertion order only with ordered_json; the order
  // does not matter to any reader).
  j["index"] = s.index;
  j["input"] = s.input;
  j["outputs"] = s.outputs;
  j["length"] = s.length;
  j["length_w_model_temp"] = s.length_w_model_temp;
  j["answer_prefix"] = s.answer_prefix;
  j["token_position_answer"] = s.token_position_answer;
  if (!s.task.empty()) j["task"] = s.task;
  if (s.max_seq_length > 0) j["max_seq_length"] = s.max_seq_length;
  j["seed"] = s.seed;
  if (s.haystack_size >= 0) j["haystack_size"] = s.haystack_size;
  if (!s.keys.empty()) j["keys"] = s.keys;
  // ensure_ascii: \uXXXX escapes for non-ASCII, as Python's json.dump.
  return j.dump(-1, ' ', true, Json::error_handler_t::strict);
}

NiahSample sample_from_json_line(const std::string& line, const std::string& origin, int64_t line_number) {
  const Json j = parse_json(line, origin);
  require(j.is_object(), origin, ": expected a JSON object");
  NiahSample s;
  s.index = line_number;
  const auto input = json_string(j, "input", origin);
  require(input.has_value(), origin, ": missing \"input\"");
  s.input = *input;
  s.answer_prefix = json_string(j, "answer_prefix", origin).value_or("");
  require(j.contains("outputs") && j["outputs"].is_array(), origin,
          ": \"outputs\" must be a list of strings");
  for (const auto& o : j["outputs"]) {
    require(o.is_string(), origin, ": \"outputs\" must be a list of strings");
    s.outputs.push_back(o.get<std::string>());
  }
  require(!s.outputs.empty(), origin, ": \"outputs\" is empty");
  s.length = json_int(j, "length", origin).value_or(0);
  s.length_w_model_temp = json_int(j, "length_w_model_temp", origin).value_or(s.length);
  s.token_position_answer = json_int(j, "token_position_answer", origin).value_or(-1);
  s.task = json_string(j, "task", origin).value_or("");
  s.max_seq_length = json_int(j, "max_seq_length", origin).value_or(0);
  s.seed = static_cast<uint64_t>(json_int(j, "seed", origin).value_or(0));
  s.haystack_size = json_int(j, "haystack_size", origin).value_or(-1);
  if (j.contains("keys") && j["keys"].is_array())
    for (const auto& k : j["keys"])
      if (k.is_string()) s.keys.push_back(k.get<std::string>());
  return s;
}

void write_samples(const std::string& path, const std::vector<NiahSample>& samples) {
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  // Written to a temporary name and renamed, so a reader never sees half a file.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    require(out.good(), "cannot write ", tmp);
    for (const auto& s : samples) out << sample_to_json_line(s) << '\n';
    require(out.good(), "cannot write ", tmp);
  }
  std::filesystem::rename(tmp, path);
}

std::vector<NiahSample> read_samples(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  require(in.good(), "cannot read NIAH data file ", path);
  std::vector<NiahSample> out;
  int64_t number = 0;
  for (std::string line; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    out.push_back(sample_from_json_line(line, cat(path, ":", number + 1), static_cast<int64_t>(out.size())));
  }
  return out;
}

std::string task_file(const std::string& dir, const std::string& task, const std::string& subset) {
  return dir + "/" + task + "/" + subset + ".jsonl";
}

}  // namespace ratkv::niah
