// ratkv-train plot: metrics.jsonl files → one SVG chart (loss against tokens by default).
#include <cstdio>
#include <filesystem>

#include "base/error.h"
#include "base/mapped_file.h"
#include "cli/args.h"
#include "train/commands.h"
#include "train/metrics_log.h"

namespace ratkv::train {

int run_plot(int argc, char** argv) {
  cli::Args args("train plot", "Draws metrics.jsonl curves (one line per run) as an SVG file.");
  args.option("--metrics", "FILES", "comma-separated metrics.jsonl paths or run directories")
      .option("--labels", "NAMES", "comma-separated legend names (default: the paths)")
      .option("--key", "NAME", "metric on the y axis", "loss")
      .option("-o,--out", "FILE", "SVG output");
  if (!args.parse(argc, argv)) return 0;
  auto split = [](const std::string& s) {
    std::vector<std::string> parts;
    size_t start = 0;
    for (size_t i = 0; i <= s.size(); ++i)
      if (i == s.size() || s[i] == ',') parts.push_back(s.substr(start, i - start)), start = i + 1;
    return parts;
  };
  const auto paths = split(args.str("metrics"));
  const auto labels = args.has("labels") ? split(args.str("labels")) : paths;
  require(labels.size() == paths.size(), "--labels has ", labels.size(), " names for ", paths.size(),
          " metrics files");
  std::vector<std::pair<std::string, std::vector<Json>>> runs;
  for (size_t i = 0; i < paths.size(); ++i) {
    std::string path = paths[i];
    if (std::filesystem::is_directory(path)) path += "/metrics.jsonl";
    runs.push_back({labels[i], read_metrics(path)});
  }
  const std::string out = args.str("out");
  write_text_file(out, loss_curve_svg(runs, args.str("key")));
  std::printf("wrote %s\n", out.c_str());
  return 0;
}

}  // namespace ratkv::train
