#pragma once
// JSON access with errors that name the file and key at fault. nlohmann::json does the parsing.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "base/error.h"

namespace ratkv {

using Json = nlohmann::json;

// Parses text as JSON; on a syntax error fails with "<origin>: invalid JSON: ...". Duplicate object keys
// keep the last value, as Python's json does (config.json files are written by Python).
Json parse_json(const std::string& text, const std::string& origin);

// Typed optional getters: absent or null gives nullopt; a present value of the wrong type or out of range
// fails with "<origin>: key \"name\" must be ...".
std::optional<int64_t> json_int(const Json& object, const char* key, const std::string& origin);
std::optional<double> json_number(const Json& object, const char* key, const std::string& origin);
std::optional<bool> json_bool(const Json& object, const char* key, const std::string& origin);
std::optional<std::string> json_string(const Json& object, const char* key, const std::string& origin);

}  // namespace ratkv
