#pragma once
// RULER's NIAH strings, verbatim (RULER scripts/data/synthetic/constants.py, niah.py, template.py), and the
// string operations that turn them into a prompt: the chat template wrap, the singular rewrite, the query
// join and the answer-prefix split. docs/niah.md quotes what each renders to.
#include <string>
#include <vector>

namespace ratkv::niah {

extern const char* const kTaskTemplate;    // has {type_needle_v}, {context}, {query}
extern const char* const kAnswerPrefix;    // has {type_needle_v}, {query}; note the leading space
extern const char* const kNeedleSentence;  // has {type_needle_v}, {key}, {value}
extern const char* const kNoiseUnit;       // one whole 5-sentence noise unit

// The chat template named `name` ("base", "meta-chat", "meta-llama3", ...); fails listing the known names.
const std::string& chat_template(const std::string& name);
std::vector<std::string> chat_template_names();

// Replaces every occurrence of `from` by `to` (Python's str.replace).
std::string replace_all(std::string text, const std::string& from, const std::string& to);

// Python str.format for the given {name} fields, in one pass (a field's value is never re-scanned). Unknown
// fields stay as they are.
std::string fill_fields(const std::string& text,
                        const std::vector<std::pair<std::string, std::string>>& fields);

// The full template niah.py receives (chat template around the task template, then the answer prefix), with
// the singular rewrite applied to the whole string when `singular` (chat template included, as RULER does).
std::string full_template(const std::string& chat, bool singular);

// "k1", or "k1, k2, and k3" (RULER's query join; two keys give "k1, and k2").
std::string join_queries(const std::vector<std::string>& queries);

// One needle sentence; type_plural is always the plural ("numbers"), as in RULER.
std::string needle_sentence(const std::string& type_plural, const std::string& key, const std::string& value);

// Splits a rendered prompt at the last occurrence of the answer prefix's first 10 characters (" The speci"),
// as niah.py does: input is the part before, answer_prefix the rest. Fails if the marker is absent.
void split_answer_prefix(const std::string& prompt, std::string* input, std::string* answer_prefix);

}  // namespace ratkv::niah
