#include "niah/prompt_template.h"

#include <map>

#include "base/error.h"

namespace ratkv::niah {

const char* const kTaskTemplate =
    "Some special magic {type_needle_v} are hidden within the following text. Make sure to memorize it. I "
    "will "
    "quiz you about the {type_needle_v} afterwards.\n{context}\nWhat are all the special magic "
    "{type_needle_v} "
    "for {query} mentioned in the provided text?";
const char* const kAnswerPrefix =
    " The special magic {type_needle_v} for {query} mentioned in the provided text are";
const char* const kNeedleSentence = "One of the special magic {type_needle_v} for {key} is: {value}.";
const char* const kNoiseUnit =
    "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.";

namespace {

const std::map<std::string, std::string>& templates() {
  static const std::map<std::string, std::string> t = {
      {"base", "{task_template}"},
      {"meta-chat", "[INST] {task_template} [/INST]"},
      {"vicuna-chat",
       "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, "
       "detailed, and polite answers to the user's questions. USER: {task_template} ASSISTANT:"},
      {"lwm-chat", "You are a helpful assistant. USER: {task_template} ASSISTANT: "},
      {"command-r-chat",
       "<BOS_TOKEN><|START_OF_TURN_TOKEN|><|USER_TOKEN|>{task_template}<|END_OF_TURN_TOKEN|><|START_OF_TURN_"
       "TOKEN|><|CHATBOT_TOKEN|>"},
      {"chatglm-chat", "[gMASK]sop<|user|> \n {task_template}<|assistant|> \n "},
      {"RWKV",
       "User: hi\n\nAssistant: Hi. I am your assistant and I will provide expert full response in full "
       "details. "
       "Please feel free to ask any question and I will always answer it\n\nUser: "
       "{task_template}\n\nAssistant:"},
      {"Phi3", "<|user|>\n{task_template}<|end|>\n<|assistant|>\n"},
      {"meta-llama3",
       "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n{task_template}<|eot_id|><|start_header_"
       "id|>"
       "assistant<|end_header_id|>\n\n"},
      {"jamba",
       "<|startoftext|><|bom|><|system|> <|eom|><|bom|><|user|> {task_template}<|eom|><|bom|><|assistant|>"},
      {"nemotron5-instruct",
       "<SPECIAL_10>System\n\n<SPECIAL_11>User\n{task_template}\n<SPECIAL_11>Assistant\n"},
  };
  return t;
}

}  // namespace

const std::string& chat_template(const std::string& name) {
  const auto& t = templates();
  const auto it = t.find(name);
  if (it == t.end()) {
    std::string known;
    for (const auto& [k, v] : t) known += (known.empty() ? "" : ", ") + k;
    fail("--chat-template: unknown template \"", name, "\" (known: ", known, ")");
  }
  return it->second;
}

std::vector<std::string> chat_template_names() {
  std::vector<std::string> names;
  for (const auto& [k, v] : templates()) names.push_back(k);
  return names;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  if (from.empty()) return text;
  std::string out;
  size_t pos = 0;
  for (size_t hit; (hit = text.find(from, pos)) != std::string::npos; pos = hit + from.size())
    out.append(text, pos, hit - pos).append(to);
  out.append(text, pos, std::string::npos);
  return out;
}

std::string fill_fields(const std::string& text,
                        const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    bool matched = false;
    if (text[i] == '{') {
      for (const auto& [name, value] : fields) {
        if (text.compare(i + 1, name.size(), name) == 0 && i + 1 + name.size() < text.size() &&
            text[i + 1 + name.size()] == '}') {
          out += value;
          i += name.size() + 2;
          matched = true;
          break;
        }
      }
    }
    if (!matched) out += text[i++];
  }
  return out;
}

std::string full_template(const std::string& chat, bool singular) {
  std::string t = fill_fields(chat_template(chat), {{"task_template", kTaskTemplate}}) + kAnswerPrefix;
  if (singular) {
    // niah.py's rewrite, in its order, on the whole string (so a chat template's "are" changes too).
    t = replace_all(t, "Some", "A");
    t = replace_all(t, "are all", "is");
    t = replace_all(t, "are", "is");
    t = replace_all(t, "answers", "answer");
  }
  return t;
}

std::string join_queries(const std::vector<std::string>& queries) {
  if (queries.size() <= 1) return queries.empty() ? "" : queries[0];
  std::string out;
  for (size_t i = 0; i + 1 < queries.size(); ++i) out += (i ? ", " : "") + queries[i];
  return out + ", and " + queries.back();
}

std::string needle_sentence(const std::string& type_plural, const std::string& key,
                            const std::string& value) {
  return fill_fields(kNeedleSentence, {{"type_needle_v", type_plural}, {"key", key}, {"value", value}});
}

void split_answer_prefix(const std::string& prompt, std::string* input, std::string* answer_prefix) {
  const std::string marker = std::string(kAnswerPrefix).substr(0, 10);
  const size_t at = prompt.rfind(marker);
  require(at != std::string::npos, "NIAH prompt has no answer prefix (\"", marker, "\")");
  *input = prompt.substr(0, at);
  *answer_prefix = prompt.substr(at);
}

}  // namespace ratkv::niah
