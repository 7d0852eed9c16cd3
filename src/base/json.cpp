#include "base/json.h"

#include <cmath>

namespace ratkv {

Json parse_json(const std::string& text, const std::string& origin) {
  Json value = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    // Re-parse with exceptions only to obtain the position of the syntax error for the message.
    try {
      [[maybe_unused]] const Json reparsed = Json::parse(text);
    } catch (const Json::exception& e) {
      // parse_error for syntax, out_of_range for numbers too large for a double, and so on.
      fail(origin, ": invalid JSON: ", e.what());
    }
    fail(origin, ": invalid JSON");
  }
  return value;
}

std::optional<int64_t> json_int(const Json& object, const char* key, const std::string& origin) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::nullopt;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_number_float()) {
    double v = it->get<double>();
    if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9.0e15) return static_cast<int64_t>(v);
  }
  fail(origin, ": key \"", key, "\" must be an integer, got ", it->dump());
}

std::optional<double> json_number(const Json& object, const char* key, const std::string& origin) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) fail(origin, ": key \"", key, "\" must be a number, got ", it->dump());
  return it->get<double>();
}

std::optional<bool> json_bool(const Json& object, const char* key, const std::string& origin) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) fail(origin, ": key \"", key, "\" must be true or false, got ", it->dump());
  return it->get<bool>();
}

std::optional<std::string> json_string(const Json& object, const char* key, const std::string& origin) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) fail(origin, ": key \"", key, "\" must be a string, got ", it->dump());
  return it->get<std::string>();
}

}  // namespace ratkv
