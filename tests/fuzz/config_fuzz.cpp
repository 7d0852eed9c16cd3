// libFuzzer harness for config.json parsing: any bytes must either give a valid ModelConfig or one
// ratkv::Error.
#include <cstddef>
#include <cstdint>
#include <string>

#include "base/error.h"
#include "base/json.h"
#include "io/model_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const std::string text(reinterpret_cast<const char*>(data), size);
    ratkv::ModelConfig config = ratkv::ModelConfig::from_json(ratkv::parse_json(text, "fuzz"), "fuzz");
    // A config that parsed must survive the round trip through to_json.
    (void)ratkv::ModelConfig::from_json(config.to_json(), "round trip");
    (void)config.parameter_count();
  } catch (const ratkv::Error&) {
  }
  return 0;
}
