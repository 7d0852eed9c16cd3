#pragma once
// Turns documentation sources into running prose for the essay haystack: reStructuredText (the default
// source, the kernel's process documents) loses headings, directives, comments, footnotes, tables and
// literal blocks, and keeps the text of inline roles and links; HTML loses its tags. What is left is a
// sequence of paragraphs separated by blank lines, so that only prose sentences reach the haystack.
#include <string>

namespace ratkv::niah {

std::string rst_to_text(const std::string& rst);
std::string html_to_text(const std::string& html);
// Chooses by the file name (a trailing .gz ignored): .rst / .rst.txt → rst_to_text, .html / .htm →
// html_to_text, .json → the "text" field (RULER's PaulGrahamEssays.json), anything else as it is.
std::string source_to_text(const std::string& path, const std::string& content);

}  // namespace ratkv::niah
