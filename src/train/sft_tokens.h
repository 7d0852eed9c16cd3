#pragma once
// Tokenized SFT examples. `ratkv-train-data sft-tokens` turns JSONL lines {"input", "outputs": [...],
// "answer_prefix"?} (RULER) or {"input", "answer"} into a binary file the trainer reads, so that the
// trainer process never loads SentencePiece (Debian's libsentencepiece carries its own protobuf, which
// cannot coexist with the libprotobuf that Debian's libtorch loads).
// File, little-endian: char[8] "RKVSFT01", uint32 examples, uint32 EOS id, uint32 vocabulary size,
// uint32 0; then per example uint32 prompt length, uint32 target length, and the uint32 tokens of the
// prompt followed by those of the target (which ends with EOS).
#include <cstdint>
#include <string>
#include <vector>

namespace ratkv {
class Tokenizer;
}

namespace ratkv::train {

struct SftExample {
  std::vector<int32_t> prompt, target;
};

struct SftFile {
  std::vector<SftExample> examples;
  uint32_t eos_id = 0, vocab_size = 0;
};

// prompt = input + answer_prefix; target = outputs joined by `separator` (or answer), then EOS. Prompt
// and target are tokenized apart without special tokens (as RAT+'s tokenize/needle.py). Errors name the
// line.
SftFile tokenize_sft_jsonl(const std::string& jsonl, const Tokenizer& tokenizer, int32_t eos_id,
                           const std::string& separator);

void write_sft_file(const std::string& path, const SftFile& file);
SftFile read_sft_file(const std::string& path);

}  // namespace ratkv::train
