#pragma once
// RULER's NIAH data files: one JSON object per line with index, input, outputs, length,
// length_w_model_temp, answer_prefix, token_position_answer (RULER scripts/data/synthetic/niah.py), written
// with ASCII escapes as json.dump(ensure_ascii=True) does. ratkv adds task, max_seq_length, seed,
// haystack_size and keys; reading accepts files without them, so a file made by RULER runs unchanged.
// Layout on disk, as RULER's: <dir>/<task>/<subset>.jsonl.
#include <string>
#include <vector>

#include "niah/generator.h"

namespace ratkv::niah {

std::string sample_to_json_line(const NiahSample& s);
// `origin` names the file and line in errors. The sample's index is `line_number` (0-based): RULER
// overwrites "index" with the answer's character offset, so it is not a sample id.
NiahSample sample_from_json_line(const std::string& line, const std::string& origin, int64_t line_number);

void write_samples(const std::string& path, const std::vector<NiahSample>& samples);
std::vector<NiahSample> read_samples(const std::string& path);

// <dir>/<task>/<subset>.jsonl
std::string task_file(const std::string& dir, const std::string& task,
                      const std::string& subset = "validation");

}  // namespace ratkv::niah
