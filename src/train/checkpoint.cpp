#include "train/checkpoint.h"

#include <filesystem>

#include "base/error.h"
#include "base/json.h"

namespace ratkv::train {

namespace {

constexpr int64_t kFormatVersion = 1;

std::string read_string(torch::serialize::InputArchive& archive, const std::string& key,
                        const std::string& path) {
  c10::IValue value;
  require(archive.try_read(key, value) && value.isString(), path, ": checkpoint has no \"", key, "\" entry");
  return value.toStringRef();
}

int64_t read_int(torch::serialize::InputArchive& archive, const std::string& key, const std::string& path) {
  c10::IValue value;
  require(archive.try_read(key, value) && value.isInt(), path, ": checkpoint has no \"", key, "\" entry");
  return value.toInt();
}

torch::serialize::InputArchive open(const std::string& path) {
  require(std::filesystem::exists(path), path, ": no such checkpoint");
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path, torch::Device(torch::kCPU));
  } catch (const std::exception& e) {
    fail(path, ": not a readable ratkv-train checkpoint (", e.what(), ")");
  }
  return archive;
}

Checkpoint read_header(torch::serialize::InputArchive& archive, const std::string& path) {
  const int64_t version = read_int(archive, "format_version", path);
  require(version == kFormatVersion, path, ": checkpoint format ", version, ", this build reads ",
          kFormatVersion);
  Checkpoint c;
  c.config = ModelConfig::from_json(parse_json(read_string(archive, "config", path), path + " (config)"),
                                    path + " (config)");
  c.options_json = read_string(archive, "options", path);
  c.next_step = read_int(archive, "next_step", path);
  c.adam_steps = read_int(archive, "adam_steps", path);
  return c;
}

}  // namespace

void save_checkpoint(const std::string& path, const Checkpoint& c) {
  torch::serialize::OutputArchive archive;
  archive.write("format_version", c10::IValue(kFormatVersion));
  archive.write("config", c10::IValue(c.config.to_json().dump(2)));
  archive.write("options", c10::IValue(c.options_json));
  archive.write("next_step", c10::IValue(c.next_step));
  archive.write("adam_steps", c10::IValue(c.adam_steps));
  for (const auto& [name, t] : c.params) archive.write("param." + name, t.detach().cpu());
  for (const auto& [name, t] : c.optimizer) archive.write(name, t.detach().cpu());
  const std::filesystem::path target(path);
  if (target.has_parent_path()) std::filesystem::create_directories(target.parent_path());
  const std::string tmp = path + ".tmp";
  try {
    archive.save_to(tmp);
  } catch (const std::exception& e) {
    fail(tmp, ": cannot write checkpoint (", e.what(), ")");
  }
  std::filesystem::rename(tmp, path);  // atomic on POSIX: readers see the old or the new file
}

Checkpoint load_checkpoint_header(const std::string& path) {
  auto archive = open(path);
  return read_header(archive, path);
}

Checkpoint load_checkpoint(const std::string& path, const std::vector<std::string>& param_names,
                           const std::vector<std::string>& optimizer_names) {
  auto archive = open(path);
  Checkpoint c = read_header(archive, path);
  auto read_tensor = [&](const std::string& key) {
    torch::Tensor t;
    require(archive.try_read(key, t), path, ": checkpoint has no tensor \"", key, "\"");
    return t;
  };
  for (const auto& name : param_names) c.params.push_back({name, read_tensor("param." + name)});
  for (const auto& name : optimizer_names) c.optimizer.push_back({name, read_tensor(name)});
  return c;
}

}  // namespace ratkv::train
