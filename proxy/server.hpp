#pragma once
// The running proxy: workers on their threads, the admin listener, signals and graceful drain.

#include "config/config.hpp"

#include <memory>

namespace modelgate::proxy {

class server {
 public:
  /// Builds the shared state and binds every listener; throws on failure (nothing left running).
  explicit server(config::proxy_config cfg);
  ~server();

  /// Serves until SIGTERM or SIGINT, then drains; returns the process exit code.
  int run();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace modelgate::proxy
