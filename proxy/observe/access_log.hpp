#pragma once
// One JSON line per request, written by spdlog's async logger so the request path only enqueues.

#include "config/config.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace spdlog {
class logger;
}

namespace modelgate::proxy {

struct access_record {
  std::chrono::system_clock::time_point time;
  std::string_view request_id;
  std::string_view client_ip;
  std::string_view method;
  std::string_view path;
  std::string_view route;
  std::string_view upstream;  // "host:port" of the backend that answered, or empty
  std::string_view error;     // proxy error label, or empty
  unsigned status = 0;        // 0: no response was sent
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  double duration_s = 0;
  double upstream_ttfb_s = -1;  // negative: no upstream response
};

/// Appends `s` to `out` as the inside of a JSON string.
void append_json_escaped(std::string& out, std::string_view s);

/// The JSON line for `r`, without the newline.
std::string format_access_record(const access_record& r);

class access_log {
 public:
  /// Opens the target; throws std::runtime_error when a file cannot be opened.
  explicit access_log(const config::access_log& cfg);
  ~access_log();

  bool enabled() const noexcept { return logger_ != nullptr; }

  /// Thread-safe.
  void write(const access_record& r);

  void flush();

 private:
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace modelgate::proxy
