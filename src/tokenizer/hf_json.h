#pragma once
// Reads a Hugging Face tokenizer.json into an HfTokenizer. Each pipeline component is an object with a
// "type" and its parameters; the supported ones are listed in docs/tokenizers.md. An unknown type, a
// missing or mistyped parameter, or an inconsistent vocabulary fails with a ratkv::Error that names
// the file and the JSON path at fault (e.g. "pre_tokenizer.pretokenizers[1]: unknown type ...").
#include <memory>
#include <string>

#include "tokenizer/tokenizer.h"

namespace ratkv {

// origin names the source in error messages (normally the file path).
std::unique_ptr<Tokenizer> load_hf_tokenizer(const std::string& json_text, const std::string& origin);

}  // namespace ratkv
