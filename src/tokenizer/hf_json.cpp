#include "tokenizer/hf_json.h"

#include <unordered_set>

#include "base/error.h"
#include "base/json.h"
#include "tokenizer/hf_json_components.h"
#include "tokenizer/hf_tokenizer.h"

namespace ratkv {
namespace {

std::vector<std::pair<std::string, std::string>> parse_merges(const Json& merges, const JsonPath& where) {
  require(merges.is_array(), where.text,
          ": must be an array of \"left right\" strings or [left, right] pairs");
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    const Json& merge = merges[i];
    JsonPath at = where.index(i);
    if (merge.is_string()) {
      const std::string& line = merge.get_ref<const std::string&>();
      // Merges files written by older tools start with a version comment; the reference skips it.
      if (line.rfind("#version", 0) == 0) continue;
      size_t space = line.find(' ');
      require(space != std::string::npos && line.find(' ', space + 1) == std::string::npos, at.text, ": \"",
              line, "\" is not two tokens separated by one space");
      out.emplace_back(line.substr(0, space), line.substr(space + 1));
    } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string()) {
      out.emplace_back(merge[0].get<std::string>(), merge[1].get<std::string>());
    } else {
      fail(at.text, ": a merge must be a \"left right\" string or a [left, right] pair, got ", merge.dump());
    }
  }
  return out;
}

std::unique_ptr<BpeModel> parse_model(const Json& model, const JsonPath& where) {
  require(model.is_object(), where.text, ": must be an object");
  std::optional<std::string> type = json_string(model, "type", where.text);
  require(type.has_value(), where.text, ": has no \"type\"");
  require(*type == "BPE", where.text, ": type \"", *type, "\" is not supported (only BPE models are)");

  BpeOptions options;
  options.unk_token = json_string(model, "unk_token", where.text);
  options.continuing_subword_prefix =
      json_string(model, "continuing_subword_prefix", where.text).value_or("");
  options.end_of_word_suffix = json_string(model, "end_of_word_suffix", where.text).value_or("");
  options.fuse_unk = json_bool(model, "fuse_unk", where.text).value_or(false);
  options.byte_fallback = json_bool(model, "byte_fallback", where.text).value_or(false);
  options.ignore_merges = json_bool(model, "ignore_merges", where.text).value_or(false);
  std::optional<double> dropout = json_number(model, "dropout", where.text);
  require(!dropout || *dropout == 0.0, where.text, ": BPE dropout ", dropout.value_or(0),
          " is not supported (encoding must be deterministic)");

  auto vocab_it = model.find("vocab");
  require(vocab_it != model.end() && vocab_it->is_object(), where.text,
          ": \"vocab\" must be an object of token: id");
  Vocabulary vocab;
  vocab.reserve(vocab_it->size());
  for (const auto& [token, id] : vocab_it->items()) {
    require(id.is_number_integer(), where.key("vocab").text, ": the id of \"", token,
            "\" must be an integer, got ", id.dump());
    int64_t value = id.get<int64_t>();
    require(value >= 0 && value < (int64_t{1} << 31), where.key("vocab").text, ": the id of \"", token,
            "\" (", value, ") is out of range");
    vocab.emplace(token, static_cast<int32_t>(value));
  }
  auto merges_it = model.find("merges");
  require(merges_it != model.end(), where.text, ": has no \"merges\"");
  auto merges = parse_merges(*merges_it, where.key("merges"));
  try {
    return std::make_unique<BpeModel>(std::move(vocab), merges, std::move(options));
  } catch (const Error& e) {
    fail(where.text, ": ", e.what());
  }
}

std::vector<AddedToken> parse_added_tokens(const Json& root, const BpeModel& model, const JsonPath& where) {
  std::vector<AddedToken> tokens;
  auto it = root.find("added_tokens");
  if (it == root.end() || it->is_null()) return tokens;
  require(it->is_array(), where.text, ": must be an array");
  std::unordered_set<std::string> contents;
  std::unordered_set<int32_t> ids;
  // The reference ignores the ids written for added tokens: one in the vocabulary gets its
  // vocabulary id, any other the next id counting up from the number of vocabulary entries. A file
  // that says otherwise is inconsistent, so it is refused rather than guessed at.
  auto next_free = static_cast<int64_t>(model.entry_count());
  for (size_t i = 0; i < it->size(); ++i) {
    const Json& entry = (*it)[i];
    JsonPath at = where.index(i);
    require(entry.is_object(), at.text, ": must be an object");
    AddedToken token;
    std::optional<int64_t> id = json_int(entry, "id", at.text);
    require(id.has_value() && *id >= 0 && *id < (int64_t{1} << 31), at.text,
            ": needs a non-negative integer \"id\"");
    token.id = static_cast<int32_t>(*id);
    std::optional<std::string> content = json_string(entry, "content", at.text);
    require(content.has_value() && !content->empty(), at.text, ": needs a non-empty \"content\"");
    token.content = *content;
    token.single_word = json_bool(entry, "single_word", at.text).value_or(false);
    token.lstrip = json_bool(entry, "lstrip", at.text).value_or(false);
    token.rstrip = json_bool(entry, "rstrip", at.text).value_or(false);
    token.normalized = json_bool(entry, "normalized", at.text).value_or(true);
    token.special = json_bool(entry, "special", at.text).value_or(false);

    require(contents.insert(token.content).second, at.text, ": \"", token.content, "\" is added twice");
    require(ids.insert(token.id).second, at.text, ": id ", token.id, " is used by two added tokens");
    if (auto vocab_id = model.token_to_id(token.content)) {
      require(*vocab_id == token.id, at.text, ": \"", token.content, "\" has id ", token.id,
              " but the vocabulary gives it ", *vocab_id);
    } else {
      require(token.id == next_free, at.text, ": \"", token.content,
              "\" is not in the vocabulary, so its id must be ", next_free,
              " (the next after the vocabulary and earlier added tokens), not ", token.id);
      if (const std::string* owner = model.id_to_token(token.id)) {
        fail(at.text, ": id ", token.id, " of \"", token.content, "\" belongs to vocabulary token \"", *owner,
             "\"");
      }
      ++next_free;
    }
    tokens.push_back(std::move(token));
  }
  return tokens;
}

}  // namespace

std::unique_ptr<Tokenizer> load_hf_tokenizer(const std::string& json_text, const std::string& origin) {
  Json root = parse_json(json_text, origin);
  require(root.is_object(), origin, ": a tokenizer.json must hold a JSON object");
  JsonPath top{origin + ":", true};
  if (std::optional<std::string> version = json_string(root, "version", origin)) {
    require(*version == "1.0", origin, ": unknown tokenizer.json version \"", *version,
            "\" (expected \"1.0\")");
  }
  auto model_it = root.find("model");
  require(model_it != root.end() && !model_it->is_null(), origin, ": has no \"model\"");

  HfPipeline pipeline;
  pipeline.model = parse_model(*model_it, top.key("model"));
  pipeline.added_tokens = parse_added_tokens(root, *pipeline.model, top.key("added_tokens"));
  auto component = [&](const char* key) -> const Json* {
    auto it = root.find(key);
    return it == root.end() || it->is_null() ? nullptr : &*it;
  };
  if (const Json* j = component("normalizer"))
    pipeline.normalizer = parse_normalizer(*j, top.key("normalizer"));
  if (const Json* j = component("pre_tokenizer")) {
    pipeline.pre_tokenizer = parse_pre_tokenizer(*j, top.key("pre_tokenizer"));
  }
  if (const Json* j = component("post_processor")) {
    pipeline.post_processor = parse_post_processor(*j, top.key("post_processor"));
  }
  if (const Json* j = component("decoder")) pipeline.decoder = parse_decoder(*j, top.key("decoder"));
  // Truncation and padding are batch-shaping settings of the reference's encode; ratkv always
  // encodes whole texts, so they are deliberately not applied.
  try {
    return std::make_unique<HfTokenizer>(std::move(pipeline));
  } catch (const Error& e) {
    fail(origin, ": ", e.what());
  }
}

}  // namespace ratkv
