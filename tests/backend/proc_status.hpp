#pragma once
// Memory figures of a process from /proc/PID/status, for the backend's memory tests.

#include <sys/types.h>

#include <cstddef>
#include <fstream>
#include <string>

namespace modelgate::test_support {

/// A "kB" line of /proc/PID/status ("VmRSS", "VmHWM": the peak RSS), in bytes; 0 when absent.
inline std::size_t proc_status_bytes(pid_t pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind(field + ":", 0) == 0) return std::stoull(line.substr(field.size() + 1)) * 1024;
  return 0;
}

inline constexpr std::size_t mib = 1 << 20;

}  // namespace modelgate::test_support
