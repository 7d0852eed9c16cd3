// Replays every saved fuzzer input through its parser: each must either parse or fail with ratkv::Error.
// The corpora live in tests/fuzz/corpus/<parser>/; a new corpus directory needs a row in kParsers.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/json.h"
#include "base/mapped_file.h"
#include "io/model_config.h"
#include "io/safetensors.h"

namespace ratkv {
namespace {

namespace fs = std::filesystem;

using Parser = std::function<void(const uint8_t* bytes, size_t size, const std::string& origin)>;

const std::map<std::string, Parser>& parsers() {
  static const std::map<std::string, Parser> table = {
      {"safetensors", [](const uint8_t* bytes, size_t size,
                         const std::string& origin) { parse_safetensors(bytes, size, origin); }},
      {"config",
       [](const uint8_t* bytes, size_t size, const std::string& origin) {
         const std::string text(reinterpret_cast<const char*>(bytes), size);
         const ModelConfig config = ModelConfig::from_json(parse_json(text, origin), origin);
         (void)ModelConfig::from_json(config.to_json(), origin + " (round trip)");
       }},
  };
  return table;
}

std::vector<fs::path> sorted_entries(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) out.push_back(entry.path());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(FuzzCorpus, EveryInputParsesOrFailsWithError) {
  const fs::path root = fs::path(RATKV_SOURCE_DIR) / "tests" / "fuzz" / "corpus";
  ASSERT_TRUE(fs::is_directory(root)) << root;
  size_t corpora = 0;
  for (const fs::path& dir : sorted_entries(root)) {
    if (!fs::is_directory(dir)) continue;  // e.g. a README beside the corpora
    const std::string name = dir.filename().string();
    auto parser = parsers().find(name);
    if (parser == parsers().end()) {
      ADD_FAILURE() << "no parser for corpus directory " << dir << "; add it to the table in " << __FILE__;
      continue;
    }
    ++corpora;
    size_t inputs = 0, accepted = 0;
    for (const fs::path& file : sorted_entries(dir)) {
      if (!fs::is_regular_file(file)) continue;
      ++inputs;
      const std::string text = read_text_file(file.string());
      // An exact-size heap copy, so an over-read past the input is caught by sanitizers.
      const std::vector<uint8_t> bytes(text.begin(), text.end());
      try {
        parser->second(bytes.data(), bytes.size(), file.string());
        ++accepted;
      } catch (const Error&) {
        // Rejecting malformed input with ratkv::Error is the expected outcome.
      } catch (const std::exception& e) {
        ADD_FAILURE() << file << " threw a non-ratkv exception: " << e.what();
      } catch (...) {
        ADD_FAILURE() << file << " threw a non-standard exception";
      }
    }
    EXPECT_GT(inputs, 0u) << "empty corpus " << dir;
    std::printf("corpus %s: %zu inputs, %zu accepted\n", name.c_str(), inputs, accepted);
  }
  EXPECT_GT(corpora, 0u);
}

}  // namespace
}  // namespace ratkv
