#pragma once
// Binary token shards (docs/training.md §Formats): a 32-byte little-endian header
//   0  char[8]  magic "RKVTOKS1"
//   8  uint32   bytes per token: 2 (uint16 ids, vocab ≤ 65536) or 4 (uint32 ids)
//  12  uint32   EOS id (documents are separated by one EOS each)
//  16  uint64   number of tokens
//  24  uint32   vocabulary size
//  28  uint32   0 (reserved)
// then the tokens. A directory of shards (*.tok, in name order) is read as one concatenated stream.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/mapped_file.h"

namespace ratkv::train {

struct ShardHeader {
  uint32_t token_bytes = 2;
  uint32_t eos_id = 0;
  uint64_t num_tokens = 0;
  uint32_t vocab_size = 0;
};

void write_token_shard(const std::string& path, std::span<const int32_t> tokens, uint32_t vocab_size,
                       uint32_t eos_id);

class TokenShards {
 public:
  // `path` is a shard file or a directory of *.tok shards; all must agree on vocab and EOS.
  explicit TokenShards(const std::string& path);

  uint64_t size() const { return total_; }
  uint32_t vocab_size() const { return vocab_size_; }
  uint32_t eos_id() const { return eos_id_; }
  // Tokens [offset, offset + out.size()) of the concatenated stream.
  void read(uint64_t offset, std::span<int64_t> out) const;

 private:
  struct Shard {
    std::unique_ptr<MappedFile> file;
    ShardHeader header;
    uint64_t first;  // offset of its first token in the stream
  };
  std::vector<Shard> shards_;
  uint64_t total_ = 0;
  uint32_t vocab_size_ = 0, eos_id_ = 0;
};

// A seeded permutation of [0, n) per epoch, the same on every machine (ratkv::Rng, Fisher–Yates).
std::vector<uint32_t> epoch_permutation(uint64_t n, uint64_t seed, uint64_t epoch);

}  // namespace ratkv::train
