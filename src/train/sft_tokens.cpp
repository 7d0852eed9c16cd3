#include "train/sft_tokens.h"

#include <cstring>
#include <filesystem>
#include <fstream>

#include "base/json.h"
#include "base/mapped_file.h"
#include "tokenizer/tokenizer.h"

namespace ratkv::train {

namespace {

constexpr char kMagic[8] = {'R', 'K', 'V', 'S', 'F', 'T', '0', '1'};

void put(std::string& out, uint32_t v) {
  out.append(reinterpret_cast<const char*>(&v), 4);
}

}  // namespace

SftFile tokenize_sft_jsonl(const std::string& jsonl, const Tokenizer& tokenizer, int32_t eos_id,
                           const std::string& separator) {
  std::ifstream in(jsonl);
  require(in.good(), jsonl, ": cannot open the SFT data file");
  SftFile file;
  file.eos_id = static_cast<uint32_t>(eos_id);
  file.vocab_size = static_cast<uint32_t>(tokenizer.vocab_size());
  std::string line;
  int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = cat(jsonl, ":", number);
    const Json j = parse_json(line, where);
    require(j.is_object(), where, ": each line must be a JSON object");
    std::string prompt = json_string(j, "input", where).value_or("");
    require(!prompt.empty(), where, ": \"input\" is missing or empty");
    prompt += json_string(j, "answer_prefix", where).value_or("");
    std::string target;
    if (auto answer = json_string(j, "answer", where)) {
      target = *answer;
    } else {
      auto it = j.find("outputs");
      require(it != j.end() && it->is_array() && !it->empty(), where,
              ": needs \"outputs\" (a non-empty list of answers) or \"answer\"");
      for (size_t i = 0; i < it->size(); ++i) {
        const Json& a = (*it)[i];
        require(a.is_string() || a.is_number(), where, ": \"outputs\" must hold strings or numbers");
        target += (i ? separator : "") + (a.is_string() ? a.get<std::string>() : a.dump());
      }
    }
    SftExample e{tokenizer.encode(prompt, false), tokenizer.encode(target, false)};
    e.target.push_back(eos_id);
    file.examples.push_back(std::move(e));
  }
  require(!file.examples.empty(), jsonl, ": no examples");
  return file;
}

void write_sft_file(const std::string& path, const SftFile& file) {
  std::string out(kMagic, 8);
  put(out, static_cast<uint32_t>(file.examples.size()));
  put(out, file.eos_id);
  put(out, file.vocab_size);
  put(out, 0);
  for (const auto& e : file.examples) {
    put(out, static_cast<uint32_t>(e.prompt.size()));
    put(out, static_cast<uint32_t>(e.target.size()));
    for (int32_t t : e.prompt) put(out, static_cast<uint32_t>(t));
    for (int32_t t : e.target) put(out, static_cast<uint32_t>(t));
  }
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary);
    require(f.good(), tmp, ": cannot open for writing");
    f.write(out.data(), static_cast<std::streamsize>(out.size()));
    require(f.good(), tmp, ": write failed");
  }
  std::filesystem::rename(tmp, path);
}

SftFile read_sft_file(const std::string& path) {
  require(std::filesystem::exists(path), path,
          ": no such SFT token file (make it with ratkv-train-data sft-tokens)");
  const MappedFile map(path);
  const uint8_t* p = map.data();
  const size_t size = map.size();
  size_t at = 0;
  auto u32 = [&]() {
    require(at + 4 <= size, path, ": truncated SFT token file");
    uint32_t v;
    std::memcpy(&v, p + at, 4);
    at += 4;
    return v;
  };
  require(size >= 24 && std::memcmp(p, kMagic, 8) == 0, path,
          ": not an SFT token file (RKVSFT01 header; make it with ratkv-train-data sft-tokens)");
  at = 8;
  SftFile file;
  const uint32_t count = u32();
  file.eos_id = u32();
  file.vocab_size = u32();
  u32();
  for (uint32_t i = 0; i < count; ++i) {
    SftExample e;
    const uint32_t prompt = u32(), target = u32();
    require(at + 4ull * (prompt + target) <= size, path, ": truncated SFT token file");
    for (uint32_t k = 0; k < prompt; ++k) e.prompt.push_back(static_cast<int32_t>(u32()));
    for (uint32_t k = 0; k < target; ++k) e.target.push_back(static_cast<int32_t>(u32()));
    for (int32_t t : e.prompt)
      require(static_cast<uint32_t>(t) < file.vocab_size, path, ": token id out of range");
    for (int32_t t : e.target)
      require(static_cast<uint32_t>(t) < file.vocab_size, path, ": token id out of range");
    file.examples.push_back(std::move(e));
  }
  require(at == size && !file.examples.empty(), path, ": malformed SFT token file");
  return file;
}

}  // namespace ratkv::train
