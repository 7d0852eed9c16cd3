// ratkv report DIR: the statistics and report of a NIAH run (docs/niah.md).
#include <cstdio>

#include "base/error.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "eval/report.h"

namespace ratkv::cli {

int run_report(int argc, char** argv) {
  Args args("report",
            "Summarizes NIAH results: bootstrap intervals, paired model differences, tables and plots.");
  args.option("--dir", "DIR", "the --out directory of ratkv niah (also accepted as the first argument)")
      .option("--resamples", "N", "bootstrap resamples", "2000")
      .option("--seed", "N", "bootstrap seed", "12345");
  std::string dir;
  if (argc > 0 && argv[0][0] != '-') {
    dir = argv[0];
    --argc;
    ++argv;
  }
  if (!args.parse(argc, argv)) return 0;
  if (args.has("dir")) dir = args.str("dir");
  require(!dir.empty(), "usage: ratkv report DIR");
  eval::BootstrapOptions boot;
  boot.resamples = args.integer("resamples", 100, 10000000);
  boot.seed = static_cast<uint64_t>(args.integer("seed", 0, INT64_MAX));
  const auto files = eval::write_report(dir, boot);
  std::printf("%s\n%s\n%zu plots (SVG + PNG) in %s/report/plots\n", files.markdown.c_str(),
              files.html.c_str(), files.svgs.size(), dir.c_str());
  return 0;
}

}  // namespace ratkv::cli
