#include "niah/default_sources.h"

#include "base/error.h"

namespace ratkv::niah {

const std::vector<std::string>& default_essay_sources(Split split) {
  static const std::vector<std::string> eval = {
      "/usr/share/doc/linux-doc-6.1/Documentation/process/1.Intro.rst.gz",
      "/usr/share/doc/linux-doc-6.1/Documentation/process/2.Process.rst.gz",
      "/usr/share/doc/linux-doc-6.1/Documentation/process/3.Early-stage.rst.gz",
      "/usr/share/doc/linux-doc-6.1/Documentation/process/4.Coding.rst.gz",
      "/usr/share/doc/linux-doc-6.1/Documentation/process/5.Posting.rst.gz",
      "/usr/share/doc/linux-doc-6.1/Documentation/process/6.Followthrough.rst.gz",
      "/usr/share/doc/linux-doc-6.1/Documentation/process/7.AdvancedTopics.rst.gz",
      "/usr/share/doc/linux-doc-6.1/Documentation/process/8.Conclusion.rst.gz",
      "/usr/share/doc/linux-doc-6.1/Documentation/process/management-style.rst.gz",
      "/usr/share/doc/linux-doc-6.1/Documentation/process/stable-api-nonsense.rst.gz",
  };
  static const std::vector<std::string> train = {
      "/usr/share/doc/linux-doc-6.1/Documentation/process/howto.rst.gz",
      "/usr/share/doc/linux-doc-6.1/Documentation/process/volatile-considered-harmful.rst.gz",
      "/usr/share/doc/linux-doc-6.1/Documentation/process/researcher-guidelines.rst.gz",
      "/usr/share/doc/linux-doc-6.1/Documentation/process/code-of-conduct-interpretation.rst.gz",
      "/usr/share/doc/linux-doc-6.1/Documentation/process/botching-up-ioctls.rst.gz",
      "/usr/share/doc/linux-doc-6.1/Documentation/process/submitting-patches.rst.gz",
      "/usr/share/doc/linux-doc-6.1/Documentation/process/handling-regressions.rst.gz",
      "/usr/share/doc/linux-doc-6.1/Documentation/process/kernel-enforcement-statement.rst.gz",
  };
  return split == Split::Eval ? eval : train;
}

uint64_t default_seed(Split split) {
  return split == Split::Eval ? 42 : 20240917;
}

Split parse_split(const std::string& text) {
  if (text == "eval" || text == "validation" || text == "test") return Split::Eval;
  if (text == "train") return Split::Train;
  fail("--split: expected eval or train, got \"", text, "\"");
}

}  // namespace ratkv::niah

#include <algorithm>
#include <filesystem>

#include "niah/text_source.h"

namespace ratkv::niah {

std::vector<std::string> haystack_files(const std::string& arg, Split split) {
  if (arg.empty()) return expand_sources(default_essay_sources(split));
  namespace fs = std::filesystem;
  require(fs::exists(arg), "--haystack: ", arg, " does not exist");
  if (fs::is_directory(arg)) {
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(arg))
      if (e.is_regular_file()) files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
    require(!files.empty(), "--haystack: directory ", arg, " holds no files");
    return files;
  }
  const bool list = (arg.size() >= 11 && arg.compare(arg.size() - 11, 11, "sources.txt") == 0) ||
                    (arg.size() >= 5 && arg.compare(arg.size() - 5, 5, ".list") == 0);
  if (list) return expand_sources(parse_source_list(read_text_file(arg)));
  return {arg};
}

}  // namespace ratkv::niah
