#pragma once
// A small command-line parser: each subcommand declares its flags (name, aliases, value or switch, help);
// parsing rejects unknown flags, missing values and malformed numbers with one message naming the flag.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ratkv::cli {

class Args {
 public:
  Args(std::string command, std::string summary)
      : command_(std::move(command)), summary_(std::move(summary)) {}

  // A flag that takes a value. `names` are like "-m,--model". The default is shown in --help.
  Args& option(const std::string& names, const std::string& value_name, const std::string& help,
               std::optional<std::string> default_value = std::nullopt);
  // A flag without a value.
  Args& flag(const std::string& names, const std::string& help);

  // Parses argv (after the subcommand). Returns false if --help was given (help printed to stdout).
  bool parse(int argc, char** argv);

  bool has(const std::string& name) const;  // name without dashes, e.g. "model"
  std::string str(const std::string& name) const;
  std::optional<std::string> opt(const std::string& name) const;
  int64_t integer(const std::string& name, int64_t min, int64_t max) const;
  double number(const std::string& name, double min, double max) const;
  bool enabled(const std::string& name) const;
  std::string help() const;

 private:
  struct Spec {
    std::vector<std::string> names;
    std::string key;
    std::string value_name;
    std::string help;
    std::optional<std::string> default_value;
    bool takes_value;
  };
  const Spec* find(const std::string& flag) const;
  const Spec& spec(const std::string& key) const;

  std::string command_, summary_;
  std::vector<Spec> specs_;
  std::map<std::string, std::string> values_;
};

// Parses "1,2,3" into integers; the error names the flag.
std::vector<int64_t> parse_int_list(const std::string& text, const std::string& flag);

}  // namespace ratkv::cli
