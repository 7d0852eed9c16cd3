#include "tokenizer/hf_json_components.h"

#include "base/error.h"
#include "tokenizer/utf8.h"

namespace ratkv {
namespace {

std::string type_of(const Json& json, const JsonPath& where) {
  require(json.is_object(), where.text, ": must be an object with a \"type\", got ", json.dump());
  std::optional<std::string> type = json_string(json, "type", where.text);
  require(type.has_value(), where.text, ": has no \"type\"");
  return *type;
}

std::string required_string(const Json& json, const char* key, const JsonPath& where) {
  std::optional<std::string> value = json_string(json, key, where.text);
  require(value.has_value(), where.text, ": needs \"", key, "\"");
  return *value;
}

bool required_bool(const Json& json, const char* key, const JsonPath& where) {
  std::optional<bool> value = json_bool(json, key, where.text);
  require(value.has_value(), where.text, ": needs \"", key, "\" (true or false)");
  return *value;
}

size_t required_count(const Json& json, const char* key, const JsonPath& where) {
  std::optional<int64_t> value = json_int(json, key, where.text);
  require(value.has_value() && *value >= 0, where.text, ": needs \"", key, "\" (a non-negative integer)");
  return static_cast<size_t>(*value);
}

char32_t required_char(const Json& json, const char* key, const JsonPath& where) {
  std::string text = required_string(json, key, where);
  size_t pos = 0;
  char32_t c = text.empty() ? 0 : utf8::next_code_point(text, pos);
  require(!text.empty() && pos == text.size(), where.text, ": \"", key,
          "\" must be a single character, got \"", text, "\"");
  return c;
}

const Json& required_array(const Json& json, const char* key, const JsonPath& where) {
  auto it = json.find(key);
  require(it != json.end() && it->is_array(), where.text, ": needs \"", key, "\" (an array)");
  return *it;
}

// {"String": "..."} matches literally, {"Regex": "..."} is an Oniguruma-syntax pattern.
Regex parse_pattern(const Json& json, const char* key, const JsonPath& where) {
  auto it = json.find(key);
  JsonPath at = where.key(key);
  require(it != json.end() && it->is_object() && it->size() == 1, at.text,
          ": must be {\"String\": ...} or {\"Regex\": ...}");
  try {
    if (auto literal = json_string(*it, "String", at.text)) {
      require(!literal->empty(), at.text, ": the pattern is empty");
      return Regex::literal(*literal);
    }
    if (auto regex = json_string(*it, "Regex", at.text)) {
      require(!regex->empty(), at.text, ": the pattern is empty");
      return Regex::compile(*regex);
    }
  } catch (const Error& e) {
    if (std::string_view(e.what()).rfind(at.text, 0) == 0) throw;
    fail(at.text, ": ", e.what());
  }
  fail(at.text, ": must be {\"String\": ...} or {\"Regex\": ...}, got ", it->dump());
}

SplitBehavior parse_behavior(const Json& json, const JsonPath& where) {
  std::string name = required_string(json, "behavior", where);
  if (name == "Removed") return SplitBehavior::kRemoved;
  if (name == "Isolated") return SplitBehavior::kIsolated;
  if (name == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (name == "Contiguous") return SplitBehavior::kContiguous;
  fail(where.text, ": unknown split behavior \"", name, "\"");
}

// Metaspace's prepend_scheme, with the older boolean add_prefix_space mapped onto it the way the
// reference does.
PrependScheme parse_prepend_scheme(const Json& json, const JsonPath& where) {
  std::string name = json_string(json, "prepend_scheme", where.text).value_or("always");
  PrependScheme scheme;
  if (name == "always") {
    scheme = PrependScheme::kAlways;
  } else if (name == "first") {
    scheme = PrependScheme::kFirst;
  } else if (name == "never") {
    scheme = PrependScheme::kNever;
  } else {
    fail(where.text, ": unknown prepend_scheme \"", name, "\"");
  }
  if (json_bool(json, "add_prefix_space", where.text) == false) {
    require(scheme == PrependScheme::kNever || !json.contains("prepend_scheme"), where.text,
            ": add_prefix_space false contradicts prepend_scheme \"", name, "\"");
    scheme = PrependScheme::kNever;
  }
  return scheme;
}

std::string metaspace_replacement(const Json& json, const JsonPath& where) {
  std::string replacement;
  utf8::append(replacement, required_char(json, "replacement", where));
  return replacement;
}

[[noreturn]] void unknown_type(const std::string& type, const JsonPath& where, std::string_view kind,
                               std::string_view supported) {
  fail(where.text, ": unknown ", kind, " type \"", type, "\" (supported: ", supported, ")");
}

}  // namespace

std::unique_ptr<Normalizer> parse_normalizer(const Json& json, const JsonPath& where) {
  std::string type = type_of(json, where);
  if (type == "Sequence") {
    const Json& steps = required_array(json, "normalizers", where);
    std::vector<std::unique_ptr<Normalizer>> parsed;
    for (size_t i = 0; i < steps.size(); ++i)
      parsed.push_back(parse_normalizer(steps[i], where.key("normalizers").index(i)));
    return std::make_unique<SequenceNormalizer>(std::move(parsed));
  }
  if (type == "Prepend") return std::make_unique<PrependNormalizer>(required_string(json, "prepend", where));
  if (type == "Replace") {
    return std::make_unique<ReplaceNormalizer>(parse_pattern(json, "pattern", where),
                                               required_string(json, "content", where));
  }
  if (type == "Strip") {
    return std::make_unique<StripNormalizer>(required_bool(json, "strip_left", where),
                                             required_bool(json, "strip_right", where));
  }
  if (type == "ByteLevel") return std::make_unique<ByteLevelNormalizer>();
  unknown_type(type, where, "normalizer", "Sequence, Prepend, Replace, Strip, ByteLevel");
}

std::unique_ptr<PreTokenizer> parse_pre_tokenizer(const Json& json, const JsonPath& where) {
  std::string type = type_of(json, where);
  if (type == "Sequence") {
    const Json& steps = required_array(json, "pretokenizers", where);
    std::vector<std::unique_ptr<PreTokenizer>> parsed;
    for (size_t i = 0; i < steps.size(); ++i) {
      parsed.push_back(parse_pre_tokenizer(steps[i], where.key("pretokenizers").index(i)));
    }
    return std::make_unique<SequencePreTokenizer>(std::move(parsed));
  }
  if (type == "Split") {
    return std::make_unique<SplitPreTokenizer>(parse_pattern(json, "pattern", where),
                                               parse_behavior(json, where),
                                               required_bool(json, "invert", where));
  }
  if (type == "ByteLevel") {
    return std::make_unique<ByteLevelPreTokenizer>(required_bool(json, "add_prefix_space", where),
                                                   json_bool(json, "use_regex", where.text).value_or(true));
  }
  if (type == "Metaspace") {
    return std::make_unique<MetaspacePreTokenizer>(metaspace_replacement(json, where),
                                                   parse_prepend_scheme(json, where),
                                                   json_bool(json, "split", where.text).value_or(true));
  }
  if (type == "Digits") {
    return std::make_unique<DigitsPreTokenizer>(
        json_bool(json, "individual_digits", where.text).value_or(false));
  }
  unknown_type(type, where, "pre_tokenizer", "Sequence, Split, ByteLevel, Metaspace, Digits");
}

std::unique_ptr<PostProcessor> parse_post_processor(const Json& json, const JsonPath& where) {
  std::string type = type_of(json, where);
  if (type == "Sequence") {
    const Json& steps = required_array(json, "processors", where);
    std::vector<std::unique_ptr<PostProcessor>> parsed;
    for (size_t i = 0; i < steps.size(); ++i) {
      parsed.push_back(parse_post_processor(steps[i], where.key("processors").index(i)));
    }
    return std::make_unique<SequencePostProcessor>(std::move(parsed));
  }
  if (type == "ByteLevel") return std::make_unique<IdentityPostProcessor>();
  if (type == "TemplateProcessing") {
    const Json& single = required_array(json, "single", where);
    auto specials_it = json.find("special_tokens");
    require(specials_it != json.end() && specials_it->is_object(), where.text,
            ": needs \"special_tokens\" (an object)");
    std::vector<int32_t> before, after;
    int sequences = 0;
    for (size_t i = 0; i < single.size(); ++i) {
      JsonPath at = where.key("single").index(i);
      const Json& piece = single[i];
      require(piece.is_object() && piece.size() == 1, at.text,
              ": must be {\"SpecialToken\": ...} or {\"Sequence\": ...}");
      if (auto seq = piece.find("Sequence"); seq != piece.end()) {
        std::string id = required_string(*seq, "id", at.key("Sequence"));
        require(id == "A", at.text, ": a single-sequence template can only hold sequence A, not \"", id,
                "\"");
        ++sequences;
        continue;
      }
      auto special = piece.find("SpecialToken");
      require(special != piece.end(), at.text, ": must be {\"SpecialToken\": ...} or {\"Sequence\": ...}");
      std::string name = required_string(*special, "id", at.key("SpecialToken"));
      auto definition = specials_it->find(name);
      require(definition != specials_it->end(), at.text, ": special token \"", name,
              "\" is not defined in special_tokens");
      JsonPath def_at = where.key("special_tokens").key(name);
      const Json& ids = required_array(*definition, "ids", def_at);
      for (const Json& id : ids) {
        require(id.is_number_integer() && id.get<int64_t>() >= 0 && id.get<int64_t>() < (int64_t{1} << 31),
                def_at.text, ": ids must be non-negative integers, got ", id.dump());
        (sequences == 0 ? before : after).push_back(static_cast<int32_t>(id.get<int64_t>()));
      }
    }
    require(sequences == 1, where.text, ": the single template must contain $A exactly once");
    return std::make_unique<TemplatePostProcessor>(std::move(before), std::move(after));
  }
  unknown_type(type, where, "post_processor", "TemplateProcessing, ByteLevel, Sequence");
}

std::unique_ptr<Decoder> parse_decoder(const Json& json, const JsonPath& where) {
  std::string type = type_of(json, where);
  if (type == "Sequence") {
    const Json& steps = required_array(json, "decoders", where);
    std::vector<std::unique_ptr<Decoder>> parsed;
    for (size_t i = 0; i < steps.size(); ++i)
      parsed.push_back(parse_decoder(steps[i], where.key("decoders").index(i)));
    return std::make_unique<SequenceDecoder>(std::move(parsed));
  }
  if (type == "Replace") {
    return std::make_unique<ReplaceDecoder>(parse_pattern(json, "pattern", where),
                                            required_string(json, "content", where));
  }
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse") return std::make_unique<FuseDecoder>();
  if (type == "Strip") {
    return std::make_unique<StripDecoder>(required_char(json, "content", where),
                                          required_count(json, "start", where),
                                          required_count(json, "stop", where));
  }
  if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
  if (type == "Metaspace") {
    std::string replacement = metaspace_replacement(json, where);
    size_t pos = 0;
    return std::make_unique<MetaspaceDecoder>(utf8::next_code_point(replacement, pos),
                                              parse_prepend_scheme(json, where));
  }
  unknown_type(type, where, "decoder", "Sequence, Replace, ByteFallback, Fuse, Strip, ByteLevel, Metaspace");
}

}  // namespace ratkv
