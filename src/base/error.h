#pragma once
// One error type for every bad input and failed operation. Its message names the file, tensor, flag or
// value at fault; the CLI prints it once and exits nonzero.
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace ratkv {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Concatenates any streamable values into one string: cat("tensor ", name, " has ", n, " rows").
template <typename... Parts>
std::string cat(Parts&&... parts) {
  std::ostringstream out;
  (out << ... << std::forward<Parts>(parts));
  return out.str();
}

template <typename... Parts>
[[noreturn]] void fail(Parts&&... parts) {
  throw Error(cat(std::forward<Parts>(parts)...));
}

// Checks an invariant of the input (not of the program): failing it is the user's error, reported as such.
template <typename... Parts>
void require(bool condition, Parts&&... parts) {
  if (!condition) fail(std::forward<Parts>(parts)...);
}

}  // namespace ratkv
