#include "niah/markup.h"

#include <regex>
#include <sstream>
#include <vector>

#include "base/json.h"

namespace ratkv::niah {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool blank(const std::string& s) {
  for (char c : s)
    if (!std::isspace(static_cast<unsigned char>(c))) return false;
  return true;
}

int indent_of(const std::string& s) {
  int n = 0;
  for (char c : s) {
    if (c == ' ')
      ++n;
    else if (c == '\t')
      n += 8;
    else
      break;
  }
  return n;
}

// Heading under/overlines and simple-table borders: one repeated punctuation character (and spaces).
bool rule_line(const std::string& s) {
  std::string t;
  for (char c : s)
    if (!std::isspace(static_cast<unsigned char>(c))) t += c;
  if (t.size() < 3) return false;
  const std::string marks = "=-~^\"'`#*+_:.";
  if (marks.find(t[0]) == std::string::npos) return false;
  for (char c : t)
    if (c != t[0] && !(t[0] == '=' && c == '+') && !(t[0] == '-' && c == '+')) return false;
  return true;
}

bool bullet(const std::string& s, size_t* text_start) {
  static const std::regex re(R"(^\s*([-*+]|\d+[.)]|#\.|\(\d+\)|[a-z][.)])\s+)");
  std::smatch m;
  if (!std::regex_search(s, m, re)) return false;
  *text_start = static_cast<size_t>(m.length(0));
  return true;
}

std::string strip_inline(std::string s) {
  static const std::vector<std::pair<std::regex, std::string>> rules = {
      {std::regex(R"(\[#?[A-Za-z0-9_]*\]_)"), ""},                        // footnote references
      {std::regex(R"((:[a-zA-Z0-9_]+)+:`([^`<]*?)\s*<[^`>]*>`)"), "$2"},  // :ref:`text <target>`
      {std::regex(R"((:[a-zA-Z0-9_]+)+:`([^`]*)`)"), "$2"},               // :role:`text`
      {std::regex(R"(`([^`<]*?)\s*<[^`>]*>`__?)"), "$1"},                 // `text <url>`_
      {std::regex(R"(``([^`]*)``)"), "$1"},                               // ``literal``
      {std::regex(R"(`([^`]*)`_{0,2})"), "$1"},                           // `interpreted` and `link`_
      {std::regex(R"(\*\*([^*]+)\*\*)"), "$1"},
      {std::regex(R"(\*([^*\s][^*]*)\*)"), "$1"},
  };
  for (const auto& [re, to] : rules) s = std::regex_replace(s, re, to);
  return s;
}

}  // namespace

std::string rst_to_text(const std::string& rst) {
  std::vector<std::string> lines;
  {
    std::istringstream in(rst);
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      lines.push_back(line);
    }
  }
  std::string out;
  std::string para;
  bool in_list_item = false;
  auto flush = [&]() {
    if (!blank(para)) out += strip_inline(para) + "\n\n";
    para.clear();
    in_list_item = false;
  };
  bool literal_next = false;  // the paragraph before ended with "::": its indented block is code
  int skip_indent = -1;       // skipping an indented block deeper than this (directive body, literal block)
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (blank(line)) {
      if (!para.empty()) {
        literal_next = ends_with(para, "::");
        if (literal_next) para.resize(para.size() - 1);  // "text::" renders as "text:"
        flush();
      }
      continue;
    }
    const int indent = indent_of(line);
    if (skip_indent >= 0) {
      if (indent > skip_indent) continue;
      skip_indent = -1;
    }
    if (literal_next && indent > 0 && para.empty()) {
      skip_indent = 0;
      literal_next = false;
      continue;
    }
    literal_next = false;
    const std::string trimmed = line.substr(line.find_first_not_of(" \t"));
    if (trimmed.rfind("..", 0) == 0) {  // directive, comment, target or footnote: drop it with its body
      flush();
      skip_indent = indent;
      continue;
    }
    if (rule_line(line)) {  // a heading's underline: drop the heading text gathered so far
      para.clear();
      in_list_item = false;
      continue;
    }
    if (i + 1 < lines.size() && rule_line(lines[i + 1]) && !blank(lines[i + 1]) && para.empty()) {
      continue;  // heading text; its underline follows
    }
    size_t start = 0;
    if (bullet(line, &start)) {
      flush();
      in_list_item = true;
      para = line.substr(start);
      continue;
    }
    if (indent > 0 && para.empty() && !in_list_item) {  // block quote, table or code outside a list
      skip_indent = indent - 1;
      continue;
    }
    if (trimmed == "::") continue;
    para += (para.empty() ? "" : " ") + trimmed;
  }
  if (!para.empty()) flush();
  return out;
}

std::string html_to_text(const std::string& html) {
  static const std::regex drop(R"(<(script|style|pre|head)[^>]*>[\s\S]*?</\1>)", std::regex::icase);
  static const std::regex para(R"(<(/p|br|/h[1-6]|/li|/div)[^>]*>)", std::regex::icase);
  static const std::regex tag(R"(<[^>]*>)");
  std::string s = std::regex_replace(html, drop, " ");
  s = std::regex_replace(s, para, "\n\n");
  s = std::regex_replace(s, tag, " ");
  static const std::vector<std::pair<std::string, std::string>> entities = {
      {"&nbsp;", " "}, {"&lt;", "<"},   {"&gt;", ">"}, {"&quot;", "\""},
      {"&#39;", "'"},  {"&apos;", "'"}, {"&amp;", "&"}};
  for (const auto& [from, to] : entities) {
    std::string r;
    size_t pos = 0;
    for (size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size())
      r.append(s, pos, hit - pos).append(to);
    s = r.append(s, pos, std::string::npos);
  }
  return s;
}

std::string source_to_text(const std::string& path, const std::string& content) {
  std::string name = path;
  if (ends_with(name, ".gz")) name.resize(name.size() - 3);
  if (ends_with(name, ".rst") || ends_with(name, ".rst.txt")) return rst_to_text(content);
  if (ends_with(name, ".html") || ends_with(name, ".htm")) return html_to_text(content);
  if (ends_with(name, ".json")) {
    const Json j = parse_json(content, path);
    const auto text = json_string(j, "text", path);
    require(text.has_value(), path, ": expected {\"text\": ...} (RULER's essay json)");
    return *text;
  }
  return content;
}

}  // namespace ratkv::niah
