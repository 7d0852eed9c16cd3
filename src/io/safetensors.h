#pragma once
// safetensors: an 8-byte little-endian header length N, N bytes of JSON describing each tensor (dtype,
// shape, [begin, end) offsets into the data buffer that follows) and optional "__metadata__" strings,
// then the buffer. The reader validates exactly what the reference implementation validates (header
// size limit, tensors tiling the buffer with no gap or overlap, byte counts matching dtype x shape,
// buffer end matching the file length) and names the file and tensor in every error.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/mapped_file.h"
#include "tensor/dtype.h"

namespace ratkv {

struct SafetensorsTensor {
  std::string name;
  std::string dtype_name;      // as written in the header, e.g. "BF16", "I64"
  std::optional<DType> dtype;  // set for the types the engine computes with (F32, BF16, F16)
  std::vector<int64_t> shape;
  int64_t numel = 0;
  size_t begin = 0;  // byte offsets relative to the data buffer, end exclusive
  size_t end = 0;
  const uint8_t* data = nullptr;  // points into the mapped file (unaligned in general)
};

// Parses and validates a whole safetensors image held in memory. `origin` (usually the path) prefixes
// every error message. Throws ratkv::Error on any violation; never reads outside [bytes, bytes+size).
struct SafetensorsIndex {
  std::vector<SafetensorsTensor> tensors;  // in header order
  std::map<std::string, std::string> metadata;
  const SafetensorsTensor* find(std::string_view name) const;
};
SafetensorsIndex parse_safetensors(const uint8_t* bytes, size_t size, const std::string& origin);

// A mapped and validated safetensors file. Tensor data stays in the map.
class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::string& path);
  const std::string& path() const { return file_.path(); }
  const SafetensorsIndex& index() const { return index_; }
  const SafetensorsTensor* find(std::string_view name) const { return index_.find(name); }

 private:
  MappedFile file_;
  SafetensorsIndex index_;
};

struct TensorToWrite {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  const void* data;  // numel(shape) * dtype_size(dtype) bytes, little-endian row-major
};

// Writes tensors as the reference writer does: tensors ordered by descending dtype alignment then name,
// the JSON header padded with spaces to a multiple of 8 bytes. Fails on duplicate names.
void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

}  // namespace ratkv
