#pragma once
// An HF-style model directory: config.json plus model.safetensors, or shards listed by
// model.safetensors.index.json. Tensor names are normalized on load: every "_orig_mod." (left by
// torch.compile wrappers in RAT+ checkpoints) is removed.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "io/model_config.h"
#include "io/safetensors.h"

namespace ratkv {

class ModelDirectory {
 public:
  explicit ModelDirectory(const std::string& dir);

  const std::string& path() const { return dir_; }
  const ModelConfig& config() const { return config_; }
  // The tensor of that (normalized) name, or nullptr.
  const SafetensorsTensor* find(const std::string& name) const;
  // The file that holds a tensor, for error messages.
  const std::string& file_of(const std::string& name) const;
  std::vector<std::string> tensor_names() const;
  // tokenizer.json or tokenizer.model inside the directory, if present.
  std::optional<std::string> tokenizer_path() const;

 private:
  struct Entry {
    const SafetensorsTensor* tensor;
    size_t file;
  };
  void add_file(const std::string& file_path, const std::vector<std::string>* only_names);

  std::string dir_;
  ModelConfig config_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, Entry> tensors_;
};

}  // namespace ratkv
