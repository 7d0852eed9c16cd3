#include "io/model_dir.h"

#include <set>

#include "base/mapped_file.h"

namespace ratkv {

namespace {

std::string normalize_tensor_name(std::string name) {
  static const std::string wrapper = "_orig_mod.";
  for (size_t pos; (pos = name.find(wrapper)) != std::string::npos;) name.erase(pos, wrapper.size());
  return name;
}

}  // namespace

ModelDirectory::ModelDirectory(const std::string& dir) : dir_(dir) {
  const std::string config_path = dir + "/config.json";
  require(file_exists(dir), "model directory ", dir, " does not exist");
  require(file_exists(config_path), dir, ": no config.json in the model directory");
  config_ = ModelConfig::load(config_path);

  const std::string single = dir + "/model.safetensors";
  const std::string index_path = dir + "/model.safetensors.index.json";
  if (file_exists(index_path)) {
    const Json index = parse_json(read_text_file(index_path), index_path);
    auto map_it = index.find("weight_map");
    require(index.is_object() && map_it != index.end() && map_it->is_object(), index_path,
            ": missing \"weight_map\" object");
    std::map<std::string, std::vector<std::string>> names_by_shard;
    for (const auto& [name, shard] : map_it->items()) {
      require(shard.is_string(), index_path, ": weight_map entry \"", name, "\" must name a file");
      const std::string file = shard.get<std::string>();
      require(!file.empty() && file.find('/') == std::string::npos && file != "..", index_path,
              ": shard name \"", file, "\" must be a plain file name");
      names_by_shard[file].push_back(name);
    }
    require(!names_by_shard.empty(), index_path, ": weight_map is empty");
    for (const auto& [file, names] : names_by_shard) add_file(dir + "/" + file, &names);
  } else if (file_exists(single)) {
    add_file(single, nullptr);
  } else {
    fail(dir, ": no model.safetensors or model.safetensors.index.json in the model directory");
  }
}

void ModelDirectory::add_file(const std::string& file_path, const std::vector<std::string>* only_names) {
  files_.push_back(std::make_unique<SafetensorsFile>(file_path));
  const size_t file_index = files_.size() - 1;
  const SafetensorsFile& file = *files_.back();
  std::set<std::string> wanted;
  if (only_names) wanted.insert(only_names->begin(), only_names->end());
  for (const auto& tensor : file.index().tensors) {
    // A shard may hold tensors its index does not list; like transformers, those are not loaded.
    if (only_names && !wanted.count(tensor.name)) continue;
    const std::string name = normalize_tensor_name(tensor.name);
    auto [it, inserted] = tensors_.emplace(name, Entry{&tensor, file_index});
    require(inserted, file_path, ": tensor \"", name, "\" also appears in ", files_[it->second.file]->path());
  }
  if (only_names) {
    for (const auto& name : *only_names)
      require(file.find(name) != nullptr, dir_, "/model.safetensors.index.json lists tensor \"", name,
              "\" in ", file_path, " but that file does not hold it");
  }
}

const SafetensorsTensor* ModelDirectory::find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : it->second.tensor;
}

const std::string& ModelDirectory::file_of(const std::string& name) const {
  auto it = tensors_.find(name);
  static const std::string unknown = "(no file)";
  return it == tensors_.end() ? unknown : files_[it->second.file]->path();
}

std::vector<std::string> ModelDirectory::tensor_names() const {
  std::vector<std::string> names;
  for (const auto& [name, entry] : tensors_) names.push_back(name);
  return names;
}

std::optional<std::string> ModelDirectory::tokenizer_path() const {
  for (const char* name : {"tokenizer.json", "tokenizer.model"}) {
    std::string path = dir_ + "/" + name;
    if (file_exists(path)) return path;
  }
  return std::nullopt;
}

}  // namespace ratkv
