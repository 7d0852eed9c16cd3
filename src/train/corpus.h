#pragma once
// Training text from installed Debian documentation packages: markup stripped to plain paragraphs,
// non-prose paragraphs (code, tables, lists of symbols) dropped, exact duplicate paragraphs removed, and
// the files reserved for the evaluation essay haystack excluded. Output: JSONL, one {"source", "text"}
// object per document (paragraphs joined by "\n").
#include <string>
#include <vector>

namespace ratkv::train {

enum class Markup { ReStructuredText, Pod, Fortune, Html, Plain };

struct CorpusSource {
  std::string package;  // the Debian package that installs it (for docs and scripts/setup.sh)
  std::string root;     // directory searched recursively
  std::string suffix;   // file name ending, e.g. ".rst.gz"
  Markup markup;
};

// linux-doc-6.1 (.rst), python3.11-doc (.rst sources), perl-doc (.pod), fortunes, and the HTML manuals of
// the packages listed in docs/training.md (Debian's reference and handbook, PostgreSQL, Git, Sphinx, the
// Python library docs, the Rust books); those not installed are skipped with a note. HTML trees skip
// directories whose name starts with '_' (Sphinx's _modules source listings, _static, _sources).
std::vector<CorpusSource> default_corpus_sources();

// Plain paragraphs of one file's text.
std::vector<std::string> extract_paragraphs(const std::string& text, Markup markup);

// True for paragraphs that read as prose: mostly letters and spaces, long enough, several words.
bool looks_like_prose(const std::string& paragraph);

struct CorpusStats {
  int64_t files = 0, excluded = 0, documents = 0, paragraphs = 0, duplicates = 0, bytes = 0;
};

// Writes the corpus JSONL; `exclude` are paths (already expanded) never read.
CorpusStats build_corpus(const std::vector<CorpusSource>& sources, const std::vector<std::string>& exclude,
                         const std::string& out_path);

}  // namespace ratkv::train
