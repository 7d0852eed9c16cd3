#include "train/html_text.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <unordered_map>
#include <unordered_set>

namespace ratkv::train {

namespace {

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Subtrees whose text is never running prose. `pre` holds code listings and console sessions in every
// generator these packages use; `code` alone is not skipped (inline code sits inside sentences), and a
// paragraph that is mostly code is dropped later by the corpus's prose filter.
const std::unordered_set<std::string>& skipped_tags() {
  static const std::unordered_set<std::string> tags = {"head",     "script",   "style",  "pre",      "nav",
                                                       "noscript", "svg",      "math",   "textarea", "select",
                                                       "button",   "template", "iframe", "object"};
  return tags;
}

// Tags that end a paragraph, opening or closing.
const std::unordered_set<std::string>& block_tags() {
  static const std::unordered_set<std::string> tags = {
      "p",       "div",        "li",      "ul",    "ol",     "h1",     "h2",         "h3",      "h4",
      "h5",      "h6",         "br",      "hr",    "tr",     "td",     "th",         "dt",      "dd",
      "dl",      "section",    "article", "aside", "header", "footer", "blockquote", "table",   "caption",
      "figure",  "figcaption", "main",    "body",  "html",   "title",  "form",       "details", "summary",
      "address", "center",     "tbody",   "thead", "tfoot",  "img",    "input",      "label",   "option"};
  return tags;
}

// Void elements never get a closing tag, so they must not open a skipped subtree.
bool is_void(const std::string& tag) {
  static const std::unordered_set<std::string> tags = {
      "br", "hr", "img", "input", "meta", "link", "area", "base", "col", "embed", "source", "track", "wbr"};
  return tags.count(tag) != 0;
}

}  // namespace

std::optional<std::string> decode_html_entity(const std::string& name) {
  std::string out;
  if (name.size() >= 2 && name[0] == '#') {
    const bool hex = name[1] == 'x' || name[1] == 'X';
    const std::string digits = name.substr(hex ? 2 : 1);
    if (digits.empty() || digits.size() > 7) return std::nullopt;
    for (char c : digits)
      if (hex ? !std::isxdigit(static_cast<unsigned char>(c)) : !std::isdigit(static_cast<unsigned char>(c)))
        return std::nullopt;
    const uint32_t cp = static_cast<uint32_t>(std::strtoul(digits.c_str(), nullptr, hex ? 16 : 10));
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
    append_utf8(out, cp == 0xA0 ? 0x20 : cp);  // a no-break space reads as a space
    return out;
  }
  static const std::unordered_map<std::string, uint32_t> named = {
      {"amp", '&'},      {"lt", '<'},       {"gt", '>'},       {"quot", '"'},      {"apos", '\''},
      {"nbsp", ' '},     {"mdash", 0x2014}, {"ndash", 0x2013}, {"hellip", 0x2026}, {"lsquo", 0x2018},
      {"rsquo", 0x2019}, {"ldquo", 0x201C}, {"rdquo", 0x201D}, {"copy", 0xA9},     {"reg", 0xAE},
      {"trade", 0x2122}, {"times", 0xD7},   {"minus", 0x2212}, {"laquo", 0xAB},    {"raquo", 0xBB},
      {"para", 0xB6},    {"sect", 0xA7},    {"bull", 0x2022},  {"middot", 0xB7},   {"deg", 0xB0},
      {"rarr", 0x2192},  {"larr", 0x2190},  {"le", 0x2264},    {"ge", 0x2265},     {"ne", 0x2260},
      {"shy", 0},        {"zwsp", 0},       {"eacute", 0xE9},  {"egrave", 0xE8},   {"uuml", 0xFC},
      {"ouml", 0xF6},    {"auml", 0xE4},    {"szlig", 0xDF},   {"ccedil", 0xE7},   {"aacute", 0xE1}};
  const auto it = named.find(name);
  if (it == named.end()) return std::nullopt;
  if (it->second != 0) append_utf8(out, it->second);  // 0: soft hyphen and zero-width space, nothing
  return out;
}

std::vector<std::string> html_paragraphs(const std::string& html) {
  std::vector<std::string> out;
  std::string current;
  bool pending_space = false;
  auto flush = [&] {
    if (!current.empty()) out.push_back(current);
    current.clear();
    pending_space = false;
  };
  auto add_char = [&](char c) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
      pending_space = !current.empty();
      return;
    }
    if (pending_space) current += ' ';
    pending_space = false;
    current += c;
  };
  std::vector<std::string> skip_stack;  // open skipped subtrees, innermost last
  const size_t n = html.size();
  size_t i = 0;
  while (i < n) {
    const char c = html[i];
    if (c == '<') {
      if (html.compare(i, 4, "<!--") == 0) {  // comment
        const size_t end = html.find("-->", i + 4);
        i = end == std::string::npos ? n : end + 3;
        continue;
      }
      if (html.compare(i, 9, "<![CDATA[") == 0) {
        const size_t end = html.find("]]>", i + 9);
        i = end == std::string::npos ? n : end + 3;
        continue;
      }
      size_t j = i + 1;
      const bool closing = j < n && html[j] == '/';
      if (closing) ++j;
      size_t name_end = j;
      while (name_end < n &&
             (std::isalnum(static_cast<unsigned char>(html[name_end])) || html[name_end] == '-'))
        ++name_end;
      if (name_end == j) {  // "<" not starting a tag (e.g. "a < b" in text, or <!DOCTYPE>)
        if (j < n && (html[j] == '!' || html[j] == '?')) {
          const size_t end = html.find('>', j);
          i = end == std::string::npos ? n : end + 1;
          continue;
        }
        if (skip_stack.empty()) add_char('<');
        ++i;
        continue;
      }
      std::string tag = html.substr(j, name_end - j);
      std::transform(tag.begin(), tag.end(), tag.begin(), [](unsigned char x) { return std::tolower(x); });
      // The tag ends at the first '>' outside a quoted attribute value.
      size_t k = name_end;
      char quote = 0;
      while (k < n && (quote || html[k] != '>')) {
        if (quote) {
          if (html[k] == quote) quote = 0;
        } else if (html[k] == '"' || html[k] == '\'') {
          quote = html[k];
        }
        ++k;
      }
      const bool self_closing = k > 0 && k < n && html[k - 1] == '/';
      i = k < n ? k + 1 : n;
      if (!skip_stack.empty()) {
        if (closing && tag == skip_stack.back())
          skip_stack.pop_back();
        else if (!closing && !self_closing && tag == skip_stack.back())
          skip_stack.push_back(tag);  // nested
        continue;
      }
      if (!closing && !self_closing && !is_void(tag) && skipped_tags().count(tag)) {
        flush();
        skip_stack.push_back(tag);
        continue;
      }
      if (block_tags().count(tag)) flush();
      continue;
    }
    if (!skip_stack.empty()) {
      ++i;
      continue;
    }
    if (c == '&') {
      const size_t semi = html.find(';', i + 1);
      if (semi != std::string::npos && semi - i <= 10) {
        const auto decoded = decode_html_entity(html.substr(i + 1, semi - i - 1));
        if (decoded) {
          for (char d : *decoded) add_char(d);
          i = semi + 1;
          continue;
        }
      }
    }
    add_char(c);
    ++i;
  }
  flush();
  return out;
}

}  // namespace ratkv::train
