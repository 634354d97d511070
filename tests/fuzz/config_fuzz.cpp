// Any bytes as a config file: loading either succeeds or throws config_error (with a position);
// nothing else may escape, crash or hang.

#include "config/loader.hpp"

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    modelgate::config::load_config_text(text, "/fuzz/modelgate.yaml");
  } catch (const modelgate::config::config_error&) {
    // The expected answer to bad input.
  }
  return 0;
}
