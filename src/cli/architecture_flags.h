#pragma once
// The flags that describe a model architecture (--family, --layers, --hidden, ...), shared by
// `ratkv init` and `ratkv-train pretrain` so that both build the same config from the same words.
#include <cstdint>
#include <optional>

#include "cli/args.h"
#include "io/model_config.h"

namespace ratkv::cli {

void add_architecture_flags(Args& args);

// Builds and validates a config from the architecture flags. The vocabulary comes from --vocab, else
// from `tokenizer_vocab` (and --vocab may not be smaller than it); bos/eos ids, when given, are written
// to the config. The result has been through to_json/from_json, so it is exactly what the engine parses.
ModelConfig architecture_from_flags(const Args& args, std::optional<int64_t> tokenizer_vocab,
                                    std::optional<int64_t> bos_id, std::optional<int64_t> eos_id);

}  // namespace ratkv::cli
