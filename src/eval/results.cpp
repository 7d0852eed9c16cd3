#include "eval/results.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "base/error.h"

namespace ratkv::eval {

std::string result_key(const std::string& model, const std::string& method, const std::string& budget,
                       const std::string& task, int64_t length, int64_t sample) {
  return cat(model, '|', method, '|', budget, '|', task, '|', length, '|', sample);
}

std::string ResultRow::key() const {
  return result_key(model, method, budget, task, length, sample);
}

std::string prompt_hash(const std::string& text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

Json ResultRow::to_json() const {
  Json j = Json::object();
  j["model"] = model;
  j["method"] = method;
  j["budget"] = budget;
  j["task"] = task;
  j["length"] = length;
  j["sample"] = sample;
  j["prompt_hash"] = prompt_hash;
  j["prediction"] = prediction;
  j["score"] = score;
  j["outputs"] = outputs;
  j["prompt_tokens"] = prompt_tokens;
  j["new_tokens"] = new_tokens;
  j["stop_reason"] = stop_reason;
  j["seconds"] = seconds;
  j["diagnostics"] = diagnostics;
  j["matmul"] = matmul;
  return j;
}

ResultRow ResultRow::from_json(const Json& j, const std::string& origin) {
  require(j.is_object(), origin, ": expected a JSON object");
  ResultRow r;
  auto str = [&](const char* k) {
    const auto v = json_string(j, k, origin);
    require(v.has_value(), origin, ": missing \"", k, "\"");
    return *v;
  };
  r.model = str("model");
  r.method = str("method");
  r.budget = str("budget");
  r.task = str("task");
  r.length = json_int(j, "length", origin).value_or(0);
  r.sample = json_int(j, "sample", origin).value_or(0);
  r.prompt_hash = json_string(j, "prompt_hash", origin).value_or("");
  r.prediction = json_string(j, "prediction", origin).value_or("");
  const auto score = json_number(j, "score", origin);
  require(score.has_value(), origin, ": missing \"score\"");
  r.score = *score;
  if (j.contains("outputs") && j["outputs"].is_array())
    for (const auto& o : j["outputs"])
      if (o.is_string()) r.outputs.push_back(o.get<std::string>());
  r.prompt_tokens = json_int(j, "prompt_tokens", origin).value_or(0);
  r.new_tokens = json_int(j, "new_tokens", origin).value_or(0);
  r.matmul = json_string(j, "matmul", origin).value_or("f32");
  r.stop_reason = json_string(j, "stop_reason", origin).value_or("");
  r.seconds = json_number(j, "seconds", origin).value_or(0.0);
  if (j.contains("diagnostics") && j["diagnostics"].is_object()) r.diagnostics = j["diagnostics"];
  return r;
}

std::vector<ResultRow> read_results_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  require(in.good(), "cannot read ", path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  std::vector<ResultRow> rows;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string origin = cat(path, ":", i + 1);
    Json j;
    try {
      j = parse_json(lines[i], origin);
    } catch (const Error&) {
      continue;  // a line cut short by an interrupted run: its cell is redone on resume
    }
    rows.push_back(ResultRow::from_json(j, origin));
  }
  return rows;
}

namespace {

std::vector<std::string> result_files(const std::string& dir) {
  std::vector<std::string> files;
  if (!std::filesystem::is_directory(dir)) return files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (e.is_regular_file() && name.rfind("results", 0) == 0 && name.size() > 6 &&
        name.compare(name.size() - 6, 6, ".jsonl") == 0)
      files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

std::vector<ResultRow> load_results(const std::string& dir) {
  std::vector<ResultRow> out;
  std::unordered_set<std::string> seen;
  for (const auto& f : result_files(dir))
    for (auto& r : read_results_file(f))
      if (seen.insert(r.key()).second) out.push_back(std::move(r));
  return out;
}

int64_t merge_results(const std::string& dir) {
  const auto rows = load_results(dir);
  // The report lists models and arms in the order it first meets them, which in one run's file is the
  // command's order (control first: paired differences read B − A). Each shard runs every model and arm in
  // that order, so ranking them by first appearance across the files and sorting on those ranks before the
  // key keeps a merged file's report identical to one run's (a plain key sort would put models and
  // budgets in alphabetical order: "1/16" before "1/4").
  std::unordered_map<std::string, int64_t> model_rank, arm_rank;
  std::vector<std::tuple<int64_t, int64_t, std::string, size_t>> order;  // (model, arm, key, row): built once
  order.reserve(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    const ResultRow& r = rows[i];
    const int64_t model = model_rank.emplace(r.model, static_cast<int64_t>(model_rank.size())).first->second;
    const int64_t arm = arm_rank.emplace(r.arm(), static_cast<int64_t>(arm_rank.size())).first->second;
    order.emplace_back(model, arm, r.key(), i);
  }
  std::sort(order.begin(), order.end());
  const std::string tmp = dir + "/results.jsonl.merging";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    require(out.good(), "cannot write ", tmp);
    for (const auto& o : order)
      out << rows[std::get<3>(o)].to_json().dump(-1, ' ', false, Json::error_handler_t::replace) << '\n';
    require(out.good(), "cannot write ", tmp);
  }
  for (const auto& f : result_files(dir)) std::filesystem::remove(f);
  std::filesystem::rename(tmp, dir + "/results.jsonl");
  return static_cast<int64_t>(rows.size());
}

ResultWriter::ResultWriter(const std::string& dir, const std::string& suffix) {
  std::filesystem::create_directories(dir);
  path_ = dir + "/results" + suffix + ".jsonl";
  // A crash can leave the last line without its newline; start on a fresh line so the next row is whole.
  bool needs_newline = false;
  if (std::filesystem::exists(path_) && std::filesystem::file_size(path_) > 0) {
    std::ifstream in(path_, std::ios::binary);
    in.seekg(-1, std::ios::end);
    needs_newline = in.get() != '\n';
  }
  file_ = std::fopen(path_.c_str(), "ab");
  require(file_ != nullptr, "cannot open ", path_, " for appending");
  if (needs_newline) std::fputc('\n', file_);
}

ResultWriter::~ResultWriter() {
  if (file_) std::fclose(file_);
}

void ResultWriter::append(const ResultRow& row) {
  // Generated text may hold broken UTF-8 (a token cut mid-character): replaced, never an error.
  const std::string line = row.to_json().dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
  require(std::fwrite(line.data(), 1, line.size(), file_) == line.size() && std::fflush(file_) == 0,
          "cannot write ", path_);
}

}  // namespace ratkv::eval
