#pragma once
// The real modelgate binary as a child process: config written to a temp dir, ports read
// back from its log, ready when the admin listener's /readyz answers 200.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace modelgate::test_support {

struct proxy_start_options {
  std::size_t listeners = 1;  // wait for "listener I listening on 127.0.0.1:PORT", I < listeners
  bool admin = true;          // wait for "admin listening on ..." and GET /readyz → 200
  std::chrono::milliseconds timeout{10000};
  std::string config_name = "modelgate.yaml";
  // Words put before the binary, e.g. {"prlimit", "--nofile=256:256", "--"}.
  std::vector<std::string> launcher{};
};

/// Not thread-safe. The destructor SIGKILLs a proxy still running and, when the current test
/// failed, prints the tail of its logs.
class proxy_process {
 public:
  /// Writes `yaml` to dir/config_name, runs `binary --config FILE` with stdout and stderr to
  /// dir/proxy.out and dir/proxy.err, and waits until it is ready. Throws std::runtime_error
  /// (with the logs) when it exits or is not ready in time.
  proxy_process(const std::filesystem::path& binary, const temp_dir& dir, std::string_view yaml,
                proxy_start_options opts = {});
  ~proxy_process();
  proxy_process(const proxy_process&) = delete;
  proxy_process& operator=(const proxy_process&) = delete;

  std::uint16_t listener_port(std::size_t index = 0) const { return listener_ports_.at(index); }
  std::uint16_t admin_port() const { return admin_port_; }
  pid_t pid() const { return child_.pid(); }

  void signal(int sig) { child_.signal(sig); }
  /// Exit code (128 + signal when killed), or std::nullopt if still running after `timeout`.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout) {
    return child_.wait_exit(timeout);
  }
  bool running() { return child_.running(); }
  /// Resident set size (VmRSS of /proc/PID/status) in bytes; 0 when it cannot be read.
  std::size_t rss_bytes() const;
  /// Peak resident set size (VmHWM) in bytes; 0 when it cannot be read.
  std::size_t peak_rss_bytes() const;

  std::string stdout_log() const;
  std::string stderr_log() const;
  /// GET on the admin listener; the body of a 200 response, else throws.
  std::string admin_get(std::string_view target) const;

 private:
  void wait_ready(const proxy_start_options& opts);
  std::string describe() const;

  std::filesystem::path out_path_, err_path_;
  child_process child_;
  std::vector<std::uint16_t> listener_ports_;
  std::uint16_t admin_port_ = 0;
};

}  // namespace modelgate::test_support
