#include "train/token_shards.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "base/error.h"
#include "base/rng.h"

namespace ratkv::train {

namespace {

constexpr char kMagic[8] = {'R', 'K', 'V', 'T', 'O', 'K', 'S', '1'};
constexpr size_t kHeaderBytes = 32;

template <typename T>
T load_le(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));  // the formats are little-endian, as is every machine ratkv targets
  return v;
}

ShardHeader parse_header(const MappedFile& file) {
  const std::string& path = file.path();
  require(file.size() >= kHeaderBytes && std::memcmp(file.data(), kMagic, 8) == 0, path,
          ": not a ratkv token shard (no RKVTOKS1 header)");
  ShardHeader h;
  h.token_bytes = load_le<uint32_t>(file.data() + 8);
  h.eos_id = load_le<uint32_t>(file.data() + 12);
  h.num_tokens = load_le<uint64_t>(file.data() + 16);
  h.vocab_size = load_le<uint32_t>(file.data() + 24);
  require(h.token_bytes == 2 || h.token_bytes == 4, path, ": token width ", h.token_bytes, " is not 2 or 4");
  require(h.num_tokens <= (file.size() - kHeaderBytes) / h.token_bytes &&
              kHeaderBytes + h.num_tokens * h.token_bytes == file.size(),
          path, ": header says ", h.num_tokens, " tokens but the file has ", file.size(), " bytes");
  require(h.vocab_size > 0 && h.eos_id < h.vocab_size, path, ": EOS id ", h.eos_id, " outside vocabulary of ",
          h.vocab_size);
  return h;
}

}  // namespace

void write_token_shard(const std::string& path, std::span<const int32_t> tokens, uint32_t vocab_size,
                       uint32_t eos_id) {
  const uint32_t width = vocab_size <= 65536 ? 2 : 4;
  std::vector<uint8_t> bytes(kHeaderBytes + tokens.size() * width, 0);
  std::memcpy(bytes.data(), kMagic, 8);
  const uint64_t count = tokens.size();
  const uint32_t reserved = 0;
  std::memcpy(bytes.data() + 8, &width, 4);
  std::memcpy(bytes.data() + 12, &eos_id, 4);
  std::memcpy(bytes.data() + 16, &count, 8);
  std::memcpy(bytes.data() + 24, &vocab_size, 4);
  std::memcpy(bytes.data() + 28, &reserved, 4);
  uint8_t* out = bytes.data() + kHeaderBytes;
  for (size_t i = 0; i < tokens.size(); ++i) {
    require(tokens[i] >= 0 && static_cast<uint32_t>(tokens[i]) < vocab_size, path, ": token id ", tokens[i],
            " outside vocabulary of ", vocab_size);
    if (width == 2) {
      const uint16_t v = static_cast<uint16_t>(tokens[i]);
      std::memcpy(out + i * 2, &v, 2);
    } else {
      const uint32_t v = static_cast<uint32_t>(tokens[i]);
      std::memcpy(out + i * 4, &v, 4);
    }
  }
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary);
    require(f.good(), tmp, ": cannot open for writing");
    f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    require(f.good(), tmp, ": write failed (disk full?)");
  }
  std::filesystem::rename(tmp, path);
}

TokenShards::TokenShards(const std::string& path) {
  std::vector<std::string> files;
  if (std::filesystem::is_directory(path)) {
    for (const auto& e : std::filesystem::directory_iterator(path))
      if (e.path().extension() == ".tok") files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
    require(!files.empty(), path, ": directory has no *.tok token shards");
  } else {
    require(std::filesystem::exists(path), path, ": no such token shard file or directory");
    files.push_back(path);
  }
  for (const auto& f : files) {
    Shard s;
    s.file = std::make_unique<MappedFile>(f);
    s.header = parse_header(*s.file);
    s.first = total_;
    if (shards_.empty()) {
      vocab_size_ = s.header.vocab_size;
      eos_id_ = s.header.eos_id;
    }
    require(s.header.vocab_size == vocab_size_ && s.header.eos_id == eos_id_, f, ": vocabulary ",
            s.header.vocab_size, " / EOS ", s.header.eos_id, " differ from the first shard's ", vocab_size_,
            " / ", eos_id_);
    total_ += s.header.num_tokens;
    shards_.push_back(std::move(s));
  }
}

void TokenShards::read(uint64_t offset, std::span<int64_t> out) const {
  require(offset + out.size() <= total_, "token shards: read past the end");
  // The shard holding `offset`: the last one whose first token is at or before it.
  auto it = std::upper_bound(shards_.begin(), shards_.end(), offset,
                             [](uint64_t o, const Shard& s) { return o < s.first; });
  size_t shard = static_cast<size_t>(it - shards_.begin()) - 1;
  for (size_t i = 0; i < out.size();) {
    const Shard& s = shards_[shard];
    const uint64_t local = offset + i - s.first;
    if (local >= s.header.num_tokens) {
      ++shard;
      continue;
    }
    const uint8_t* data = s.file->data() + kHeaderBytes;
    const uint64_t n = std::min<uint64_t>(out.size() - i, s.header.num_tokens - local);
    for (uint64_t j = 0; j < n; ++j, ++i) {
      out[i] = s.header.token_bytes == 2 ? load_le<uint16_t>(data + (local + j) * 2)
                                         : load_le<uint32_t>(data + (local + j) * 4);
    }
  }
}

std::vector<uint32_t> epoch_permutation(uint64_t n, uint64_t seed, uint64_t epoch) {
  std::vector<uint32_t> perm(n);
  for (uint64_t i = 0; i < n; ++i) perm[i] = static_cast<uint32_t>(i);
  Rng rng(seed * 0x9E3779B97F4A7C15ull + epoch + 1);
  for (uint64_t i = n; i > 1; --i) std::swap(perm[i - 1], perm[rng.below(i)]);
  return perm;
}

}  // namespace ratkv::train
