#pragma once
// The default haystack sources, compiled in so the binary needs no data directory at run time. They must
// equal data/essay_sources.txt (evaluation) and data/essay_sources_train.txt (train split); a unit test
// checks.
#include <cstdint>
#include <string>
#include <vector>

namespace ratkv::niah {

enum class Split { Eval, Train };

const std::vector<std::string>& default_essay_sources(Split split);
// The seed of a split when none is given: RULER's 42 for evaluation, another for training.
uint64_t default_seed(Split split);
// "eval"/"validation"/"test" or "train".
Split parse_split(const std::string& text);

}  // namespace ratkv::niah

namespace ratkv::niah {
// The haystack files for --haystack ARG: the split's defaults when ARG is empty; every file of a directory
// (sorted, as RULER globs its essays); a source list when ARG ends in "sources.txt" or ".list"; else the
// file.
std::vector<std::string> haystack_files(const std::string& arg, Split split);
}  // namespace ratkv::niah
