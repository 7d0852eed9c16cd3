#pragma once
// The JSONL metrics log of a run (run_dir/metrics.jsonl): one JSON object per logged step. On resume,
// lines past the checkpoint's step are dropped, so a run cut into pieces has one line per step
// (the lines a killed piece wrote after its last checkpoint are written again by the resumed run).
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "base/json.h"

namespace ratkv::train {

class MetricsLog {
 public:
  // Opens `path` for appending, first keeping only the lines of steps already in the checkpoint
  // ("step" <= resume_step, the number of steps it holds).
  MetricsLog(const std::string& path, int64_t resume_step);
  void write(const Json& record);

 private:
  std::string path_;
  std::ofstream out_;
};

// Every record of a metrics log (for plotting); a malformed line is an error naming the line.
std::vector<Json> read_metrics(const std::string& path);

// An SVG line chart of `key` (e.g. "loss") against "tokens" for one or more logs, one colored line each,
// with axes, ticks and a legend. No plotting dependency.
std::string loss_curve_svg(const std::vector<std::pair<std::string, std::vector<Json>>>& runs,
                           const std::string& key);

}  // namespace ratkv::train
