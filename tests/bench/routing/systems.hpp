#pragma once
// The proxies the routing benchmark compares, started as child processes in front of the same
// simulated backends: modelgate with one pool policy, or HAProxy with one `balance` algorithm.

#include "tests/support/child_process.hpp"
#include "tests/support/proxy_process.hpp"
#include "tests/support/temp_dir.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace modelgate::bench {

struct system_spec {
  enum class kind { modelgate, haproxy };
  std::string name;      // row label
  kind what = kind::modelgate;
  std::string settings;  // modelgate: pool keys (YAML, 4-space indent); haproxy: backend lines
};

struct system_paths {
  std::filesystem::path modelgate;
  std::filesystem::path haproxy;  // empty: HAProxy rows are skipped
  unsigned workers = 2;           // modelgate workers / HAProxy nbthread
};

/// One running proxy; stops it on destruction.
class running_system {
 public:
  /// Starts `spec` in front of 127.0.0.1:`ports`; throws std::runtime_error when it does not
  /// come up.
  running_system(const system_spec& spec, const system_paths& paths,
                 const std::vector<std::uint16_t>& ports, const test_support::temp_dir& dir);
  ~running_system();
  running_system(const running_system&) = delete;
  running_system& operator=(const running_system&) = delete;

  std::uint16_t port() const noexcept { return port_; }

 private:
  std::unique_ptr<test_support::proxy_process> modelgate_;
  std::optional<test_support::child_process> haproxy_;
  std::uint16_t port_ = 0;
};

/// The rows of the table: modelgate's policies, then HAProxy's when `with_haproxy`.
std::vector<system_spec> default_systems(bool with_haproxy);

}  // namespace modelgate::bench
