#pragma once
// modelgate-backend as a child process for integration tests: demo models made once per test
// binary, `serve` started on 127.0.0.1:0 with the real port read back from its log.

#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace modelgate::test_support {

/// Path of the built binary (set by CMake).
std::string backend_binary();

/// Makes (once per process) a demo model of `kind` with `extra` make-model flags; returns its path.
std::filesystem::path demo_model(const std::string& kind, const std::vector<std::string>& extra = {});

/// A running `modelgate-backend serve`. Kills the process on destruction and prints its log
/// when the current test failed.
class backend_process {
 public:
  /// `listen_fd` >= 0: a listening socket passed as descriptor 3 with LISTEN_FDS (the backend
  /// then serves on it, whatever --listen says).
  backend_process(const std::filesystem::path& model, const std::string& kind,
                  const std::vector<std::string>& extra = {}, int listen_fd = -1);
  ~backend_process();

  std::uint16_t port() const { return port_; }
  child_process& process() { return *child_; }
  std::string log() const;

 private:
  temp_dir dir_;
  std::unique_ptr<child_process> child_;
  std::uint16_t port_ = 0;
};

}  // namespace modelgate::test_support
