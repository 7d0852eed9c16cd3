#pragma once
// The results of a NIAH run: one JSON line per (model, method, budget, task, length, sample), appended to
// <out>/results[.shard-i-of-n].jsonl as each cell finishes. A run resumes by skipping the keys already
// present; shards write their own files and merge_results() folds them into results.jsonl. Reading skips
// lines cut short by a crash (their cells are redone), and of the same key twice (the first wins).
#include <cstdint>
#include <cstdio>
#include <string>
#include <unordered_set>
#include <vector>

#include "base/json.h"

namespace ratkv::eval {

struct ResultRow {
  std::string model, method, budget, task;
  int64_t length = 0, sample = 0;
  std::string prompt_hash;  // FNV-1a 64 of input + answer_prefix, hex: the same prompt across models
  std::string prediction;
  double score = 0.0;  // string_match_all, 0..100
  std::vector<std::string> outputs;
  int64_t prompt_tokens = 0, new_tokens = 0;
  std::string stop_reason;
  double seconds = 0.0;
  Json diagnostics = Json::object();  // selection diagnostics from the CellRunner
  // Precision of the prefill products (`--matmul`): f32, or bf16 (rounded activations). Rows written before
  // the field existed were f32.
  std::string matmul = "f32";

  std::string key() const;
  // The arm's label in tables: "method@budget".
  std::string arm() const { return method + "@" + budget; }
  Json to_json() const;
  static ResultRow from_json(const Json& j, const std::string& origin);
};

std::string result_key(const std::string& model, const std::string& method, const std::string& budget,
                       const std::string& task, int64_t length, int64_t sample);
std::string prompt_hash(const std::string& text);

// Every results*.jsonl in dir, deduplicated by key, in file then line order.
std::vector<ResultRow> load_results(const std::string& dir);
std::vector<ResultRow> read_results_file(const std::string& path);
// Writes <dir>/results.jsonl with every row of every file and removes the shard files. Rows are sorted by
// model, then arm, each in the order of first appearance (the run's order), then by key.
// Returns the row count.
int64_t merge_results(const std::string& dir);

class ResultWriter {
 public:
  ResultWriter(const std::string& dir, const std::string& suffix);
  ~ResultWriter();
  void append(const ResultRow& row);  // one line, flushed
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
};

}  // namespace ratkv::eval
