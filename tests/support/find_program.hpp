#pragma once
// Where an external program a test needs (redis-server, promtool) is installed, searched on PATH
// like a shell would. Tests skip with a clear message when it is absent.

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>

#include <unistd.h>

namespace modelgate::test_support {

inline std::optional<std::filesystem::path> find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty()) continue;
    auto p = std::filesystem::path(dir) / name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return std::nullopt;
}

}  // namespace modelgate::test_support
