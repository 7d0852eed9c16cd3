#pragma once
// Where haystack text comes from: source lists (one absolute path or glob per line, '#' comments — the format
// of data/essay_sources.txt, which the trainer also reads to exclude these files), glob expansion, and
// reading a file that may be gzip-compressed (Debian compresses documentation). Gzip files are read through
// the `gzip` program (Debian essential), which keeps the engine free of a zlib link.
#include <string>
#include <vector>

namespace ratkv::niah {

// Non-comment, non-blank lines of a source list, trimmed.
std::vector<std::string> parse_source_list(const std::string& text);
// Paths matching each pattern (glob(3)), sorted per pattern, duplicates removed; a pattern that matches no
// file fails naming it.
std::vector<std::string> expand_sources(const std::vector<std::string>& patterns);
// The file's bytes; .gz files decompressed.
std::string read_text_file(const std::string& path);

}  // namespace ratkv::niah
