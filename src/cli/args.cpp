#include "cli/args.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "base/error.h"

namespace ratkv::cli {

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(s);
  while (std::getline(in, part, sep)) parts.push_back(part);
  return parts;
}

std::string key_of(const std::vector<std::string>& names) {
  // The long name without dashes is the key: "--top-p" → "top-p".
  for (const auto& n : names)
    if (n.rfind("--", 0) == 0) return n.substr(2);
  return names.front().substr(1);
}

}  // namespace

Args& Args::option(const std::string& names, const std::string& value_name, const std::string& help,
                   std::optional<std::string> default_value) {
  auto list = split(names, ',');
  specs_.push_back({list, key_of(list), value_name, help, std::move(default_value), true});
  return *this;
}

Args& Args::flag(const std::string& names, const std::string& help) {
  auto list = split(names, ',');
  specs_.push_back({list, key_of(list), "", help, std::nullopt, false});
  return *this;
}

const Args::Spec* Args::find(const std::string& flag) const {
  for (const auto& s : specs_)
    for (const auto& n : s.names)
      if (n == flag) return &s;
  return nullptr;
}

const Args::Spec& Args::spec(const std::string& key) const {
  for (const auto& s : specs_)
    if (s.key == key) return s;
  fail("internal: flag --", key, " is not declared for ", command_);
}

bool Args::parse(int argc, char** argv) {
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(help().c_str(), stdout);
      return false;
    }
    std::optional<std::string> inline_value;
    if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      inline_value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    }
    const Spec* s = find(arg);
    if (!s) {
      if (arg.rfind("-", 0) == 0)
        fail("ratkv ", command_, ": unknown flag ", arg, " (see ratkv ", command_, " --help)");
      fail("ratkv ", command_, ": unexpected argument \"", arg, "\" (see ratkv ", command_, " --help)");
    }
    if (!s->takes_value) {
      require(!inline_value, "ratkv ", command_, ": flag ", arg, " takes no value");
      values_[s->key] = std::string("1");  // not `= "1"`: GCC 12 warns falsely (-Wrestrict) there
      continue;
    }
    if (inline_value) {
      values_[s->key] = *inline_value;
    } else {
      require(i + 1 < argc, "ratkv ", command_, ": flag ", arg, " needs a value (", s->value_name, ")");
      values_[s->key] = argv[++i];
    }
  }
  return true;
}

bool Args::has(const std::string& name) const {
  return values_.count(name) > 0;
}

std::optional<std::string> Args::opt(const std::string& name) const {
  auto it = values_.find(name);
  if (it != values_.end()) return it->second;
  return spec(name).default_value;
}

std::string Args::str(const std::string& name) const {
  auto v = opt(name);
  require(v.has_value(), "ratkv ", command_, ": --", name, " is required (see ratkv ", command_, " --help)");
  return *v;
}

int64_t Args::integer(const std::string& name, int64_t min, int64_t max) const {
  const std::string text = str(name);
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  require(!text.empty() && *end == '\0' && errno == 0, "ratkv ", command_, ": --", name,
          " must be an integer, got \"", text, "\"");
  require(v >= min && v <= max, "ratkv ", command_, ": --", name, " must be in [", min, ", ", max, "], got ",
          v);
  return v;
}

double Args::number(const std::string& name, double min, double max) const {
  const std::string text = str(name);
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  require(!text.empty() && *end == '\0' && errno == 0 && std::isfinite(v), "ratkv ", command_, ": --", name,
          " must be a number, got \"", text, "\"");
  require(v >= min && v <= max, "ratkv ", command_, ": --", name, " must be in [", min, ", ", max, "], got ",
          v);
  return v;
}

bool Args::enabled(const std::string& name) const {
  return values_.count(name) > 0;
}

std::string Args::help() const {
  std::ostringstream out;
  out << "usage: ratkv " << command_ << " [flags]\n\n" << summary_ << "\n\nflags:\n";
  for (const auto& s : specs_) {
    std::string names;
    for (const auto& n : s.names) names += (names.empty() ? "" : ", ") + n;
    if (s.takes_value) names += " " + s.value_name;
    out << "  " << names;
    if (names.size() < 28)
      out << std::string(28 - names.size(), ' ');
    else
      out << "\n" << std::string(30, ' ');
    out << s.help;
    if (s.default_value) out << " (default: " << *s.default_value << ")";
    out << "\n";
  }
  out << "  -h, --help                  show this help\n";
  return out.str();
}

std::vector<int64_t> parse_int_list(const std::string& text, const std::string& flag) {
  std::vector<int64_t> values;
  for (const auto& part : split(text, ',')) {
    errno = 0;
    char* end = nullptr;
    const long long v = std::strtoll(part.c_str(), &end, 10);
    require(!part.empty() && *end == '\0' && errno == 0, flag, ": \"", part, "\" is not an integer");
    values.push_back(v);
  }
  require(!values.empty(), flag, ": empty list");
  return values;
}

}  // namespace ratkv::cli
