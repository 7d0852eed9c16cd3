#include "train/corpus.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "base/error.h"
#include "base/json.h"
#include "niah/text_source.h"
#include "train/html_text.h"

namespace ratkv::train {

namespace fs = std::filesystem;

std::vector<CorpusSource> default_corpus_sources() {
  std::vector<CorpusSource> sources = {
      {"linux-doc-6.1", "/usr/share/doc/linux-doc-6.1/Documentation", ".rst.gz", Markup::ReStructuredText},
      {"linux-doc-6.1", "/usr/share/doc/linux-doc-6.1/Documentation", ".rst", Markup::ReStructuredText},
      {"python3.11-doc", "/usr/share/doc/python3.11/html/_sources", ".rst.txt", Markup::ReStructuredText},
      {"perl-doc", "/usr/share/perl/5.36/pod", ".pod", Markup::Pod},
      {"fortunes", "/usr/share/games/fortunes", "", Markup::Fortune},
  };
  // HTML manuals: long-form English prose about software, the register of the evaluation haystack, from
  // packages that install it as pages (no source markup shipped). Order fixes the corpus order.
  const char* html_trees[][2] = {
      {"debian-reference-en", "/usr/share/debian-reference"},
      {"debian-handbook", "/usr/share/doc/debian-handbook/html/en-US"},
      {"postgresql-doc-15", "/usr/share/doc/postgresql-doc-15/html"},
      {"git-doc", "/usr/share/doc/git-doc"},
      {"sphinx-doc", "/usr/share/doc/sphinx-doc/html"},
      {"python-django-doc", "/usr/share/doc/python-django-doc/html"},
      {"python-sqlalchemy-doc", "/usr/share/doc/python-sqlalchemy-doc/html"},
      {"python-celery-doc", "/usr/share/doc/python-celery-doc/html"},
      {"python-sympy-doc", "/usr/share/doc/python-sympy-doc/html"},
      {"python-scipy-doc", "/usr/share/doc/python-scipy-doc/html"},
      {"python-astropy-doc", "/usr/share/doc/python-astropy-doc/html"},
      {"python-pandas-doc", "/usr/share/doc/python-pandas-doc/html"},
      {"python-sklearn-doc", "/usr/share/doc/python-sklearn-doc/html"},
      {"python-statsmodels-doc", "/usr/share/doc/python-statsmodels-doc/html"},
      {"python-dask-doc", "/usr/share/doc/python-dask-doc/html"},
      {"python-skimage-doc", "/usr/share/doc/python-skimage-doc/html"},
      {"python-xarray-doc", "/usr/share/doc/python-xarray-doc/html"},
      {"python-pytest-doc", "/usr/share/doc/python-pytest-doc/html"},
      {"gimp-help-en", "/usr/share/gimp/2.0/help/en"},
      {"lilypond-doc-html", "/usr/share/doc/lilypond/html/Documentation"},
      {"gnucash-docs", "/usr/share/doc/gnucash-docs/gnucash-guide-en"},
      {"gnucash-docs", "/usr/share/doc/gnucash-docs/gnucash-help-en"},
      {"octave-doc", "/usr/share/doc/octave/octave.html"},
      {"maxima-doc", "/usr/share/doc/maxima-doc/html"},
      {"kicad-doc-en", "/usr/share/doc/kicad/help/en"},
      {"erlang-doc", "/usr/share/doc/erlang-doc"},
      {"ghc-doc", "/usr/share/doc/ghc-doc/html/users_guide"},
      // The Rust books, not the API reference (27,000 generated pages of signatures).
      {"rust-doc", "/usr/share/doc/rust-doc/html/book"},
      {"rust-doc", "/usr/share/doc/rust-doc/html/reference"},
      {"rust-doc", "/usr/share/doc/rust-doc/html/rust-by-example"},
      {"rust-doc", "/usr/share/doc/rust-doc/html/nomicon"},
      {"rust-doc", "/usr/share/doc/rust-doc/html/edition-guide"},
      {"rust-doc", "/usr/share/doc/rust-doc/html/embedded-book"},
      {"rust-doc", "/usr/share/doc/rust-doc/html/rustc"},
      {"rust-doc", "/usr/share/doc/rust-doc/html/rustdoc"},
  };
  for (const auto& [package, root] : html_trees) sources.push_back({package, root, ".html", Markup::Html});
  return sources;
}

namespace {

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t\r");
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(" \t\r") - a + 1);
}

size_t indent_of(const std::string& line) {
  size_t n = 0;
  while (n < line.size() && (line[n] == ' ' || line[n] == '\t')) ++n;
  return n;
}

// A line made of one repeated punctuation character: an RST section over/underline or a table border.
bool is_rule(const std::string& line) {
  const std::string t = trim(line);
  if (t.size() < 3) return false;
  const char c = t[0];
  if (std::isalnum(static_cast<unsigned char>(c))) return false;
  return std::all_of(t.begin(), t.end(), [&](char x) { return x == c || x == '+' || x == ' '; });
}

std::string strip_rst_inline(std::string s) {
  static const std::regex role(R"(:[a-zA-Z:+-]+:`([^`<]*?)\s*(<[^`>]*>)?`)");  // :ref:`text <target>` → text
  static const std::regex link(R"(`([^`<]*?)\s*(<[^`>]*>)?`__?)");             // `text <url>`_ → text
  static const std::regex literal("``([^`]*)``");
  static const std::regex emphasis(R"(\*\*?([^*]+)\*\*?)");
  static const std::regex substitution(R"(\|([a-zA-Z0-9_ -]+)\|)");
  s = std::regex_replace(s, role, "$1");
  s = std::regex_replace(s, link, "$1");
  s = std::regex_replace(s, literal, "$1");
  s = std::regex_replace(s, emphasis, "$1");
  s = std::regex_replace(s, substitution, "$1");
  s.erase(std::remove(s.begin(), s.end(), '`'), s.end());
  return s;
}

std::string strip_pod_inline(std::string s) {
  static const std::regex link(R"(L<([^|>]*)\|[^>]*>)");
  static const std::regex code(R"([BICFSLXZ]<+\s*([^<>]*?)\s*>+)");
  static const std::regex entity_gt("E<gt>"), entity_lt("E<lt>");
  s = std::regex_replace(s, link, "$1");
  for (int i = 0; i < 3; ++i) s = std::regex_replace(s, code, "$1");  // nested codes, innermost first
  s = std::regex_replace(s, entity_gt, ">");
  s = std::regex_replace(s, entity_lt, "<");
  return s;
}

// Splits text into paragraphs of non-blank lines; `skip` drops a paragraph by its first line's context.
std::vector<std::vector<std::string>> blocks(const std::string& text) {
  std::vector<std::vector<std::string>> out(1);
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (trim(line).empty()) {
      if (!out.back().empty()) out.emplace_back();
    } else {
      out.back().push_back(line);
    }
  }
  if (out.back().empty()) out.pop_back();
  return out;
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) {
    if (!s.empty()) s += ' ';
    s += trim(l);
  }
  return s;
}

std::vector<std::string> rst_paragraphs(const std::string& text) {
  std::vector<std::string> out;
  bool literal_next = false;  // the previous paragraph ended with "::": the next indented block is code
  size_t directive_indent = std::string::npos;  // inside a ".. directive::" body: skip deeper-indented blocks
  for (const auto& b : blocks(text)) {
    const size_t indent = indent_of(b[0]);
    const std::string first = trim(b[0]);
    if (directive_indent != std::string::npos) {
      if (indent > directive_indent) continue;
      directive_indent = std::string::npos;
    }
    if (literal_next && indent > 0) continue;
    literal_next = false;
    if (first.rfind("..", 0) == 0) {  // directives and comments, with their indented bodies
      directive_indent = indent;
      continue;
    }
    if (indent >= 4 || first.rfind(">>>", 0) == 0) continue;  // code and interactive sessions
    std::vector<std::string> lines;
    for (const auto& l : b)
      if (!is_rule(l)) lines.push_back(l);
    if (lines.empty()) continue;
    std::string p = join_lines(lines);
    if (p.size() >= 2 && p.compare(p.size() - 2, 2, "::") == 0) {
      literal_next = true;
      p.pop_back();  // "Example::" reads as "Example:"
    }
    if (!p.empty() && p[0] == ':') continue;  // field lists (:Author: ...)
    out.push_back(strip_rst_inline(p));
  }
  return out;
}

std::vector<std::string> pod_paragraphs(const std::string& text) {
  std::vector<std::string> out;
  bool in_pod = true, in_begin = false;
  for (const auto& b : blocks(text)) {
    const std::string first = trim(b[0]);
    if (first.rfind("=cut", 0) == 0) {
      in_pod = false;
      continue;
    }
    if (first.rfind("=pod", 0) == 0 || first.rfind("=head", 0) == 0) in_pod = true;
    if (!in_pod) continue;
    if (first.rfind("=begin", 0) == 0) in_begin = true;
    if (first.rfind("=end", 0) == 0) {
      in_begin = false;
      continue;
    }
    if (in_begin) continue;
    if (first[0] == '=') {
      if (first.rfind("=head", 0) == 0 || first.rfind("=item", 0) == 0) {
        const size_t space = first.find(' ');
        if (space != std::string::npos) out.push_back(strip_pod_inline(trim(first.substr(space))));
      }
      continue;
    }
    if (indent_of(b[0]) > 0) continue;  // verbatim (code)
    out.push_back(strip_pod_inline(join_lines(b)));
  }
  return out;
}

std::vector<std::string> fortune_paragraphs(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line, current;
  while (std::getline(in, line)) {
    if (trim(line) == "%") {
      if (!current.empty()) out.push_back(current);
      current.clear();
    } else if (!trim(line).empty()) {
      if (!current.empty()) current += ' ';
      current += trim(line);
    }
  }
  if (!current.empty()) out.push_back(current);
  return out;
}

}  // namespace

std::vector<std::string> extract_paragraphs(const std::string& text, Markup markup) {
  switch (markup) {
    case Markup::ReStructuredText:
      return rst_paragraphs(text);
    case Markup::Pod:
      return pod_paragraphs(text);
    case Markup::Fortune:
      return fortune_paragraphs(text);
    case Markup::Html:
      return html_paragraphs(text);
    case Markup::Plain: {
      std::vector<std::string> out;
      for (const auto& b : blocks(text)) out.push_back(join_lines(b));
      return out;
    }
  }
  return {};
}

bool looks_like_prose(const std::string& p) {
  if (p.size() < 40) return false;
  int64_t letters = 0, spaces = 0, words = 0;
  bool in_word = false;
  for (unsigned char c : p) {
    if (std::isalpha(c)) ++letters;
    if (c == ' ') ++spaces;
    const bool word_char = std::isalpha(c) != 0;
    if (word_char && !in_word) ++words;
    in_word = word_char;
  }
  const double n = static_cast<double>(p.size());
  return words >= 6 && (letters + spaces) / n >= 0.85 && spaces / n >= 0.08;
}

CorpusStats build_corpus(const std::vector<CorpusSource>& sources, const std::vector<std::string>& exclude,
                         const std::string& out_path) {
  std::set<std::string> excluded;
  for (const auto& e : exclude) excluded.insert(fs::weakly_canonical(e).string());
  std::set<size_t> seen;  // hashes of paragraphs already written (exact-duplicate removal)
  CorpusStats stats;
  std::ofstream out(out_path + ".tmp");
  require(out.good(), out_path, ": cannot open for writing");
  std::set<std::string> done_files;
  for (const auto& source : sources) {
    if (!fs::is_directory(source.root)) {
      std::fprintf(stderr, "note: %s not found (install the Debian package %s); skipped\n",
                   source.root.c_str(), source.package.c_str());
      continue;
    }
    std::vector<std::string> files;
    for (auto it = fs::recursive_directory_iterator(source.root); it != fs::recursive_directory_iterator();
         ++it) {
      const auto& e = *it;
      if (source.markup == Markup::Html && e.is_directory() &&
          e.path().filename().string().starts_with("_")) {
        it.disable_recursion_pending();  // Sphinx's _modules (highlighted source), _static, _sources
        continue;
      }
      if (!e.is_regular_file()) continue;
      const std::string path = e.path().string();
      if (!source.suffix.empty() && !path.ends_with(source.suffix)) continue;
      if (source.suffix.empty() && (path.ends_with(".dat") || path.ends_with(".u8")))
        continue;  // fortune indexes
      files.push_back(path);
    }
    std::sort(files.begin(), files.end());  // a deterministic corpus
    for (const auto& path : files) {
      const std::string canonical = fs::weakly_canonical(path).string();
      if (!done_files.insert(canonical).second) continue;
      if (excluded.count(canonical)) {
        ++stats.excluded;
        continue;
      }
      ++stats.files;
      std::string text;
      for (const auto& p : extract_paragraphs(niah::read_text_file(path), source.markup)) {
        if (!looks_like_prose(p)) continue;
        if (!seen.insert(std::hash<std::string>{}(p)).second) {
          ++stats.duplicates;
          continue;
        }
        text += (text.empty() ? "" : "\n") + p;
        ++stats.paragraphs;
      }
      if (text.empty()) continue;
      out << Json{{"source", path}, {"text", text}}.dump(-1, ' ', false, Json::error_handler_t::replace)
          << '\n';
      ++stats.documents;
      stats.bytes += static_cast<int64_t>(text.size());
    }
  }
  out.close();
  require(stats.documents > 0, "corpus: no documents found (are the documentation packages installed?)");
  fs::rename(out_path + ".tmp", out_path);
  return stats;
}

}  // namespace ratkv::train
