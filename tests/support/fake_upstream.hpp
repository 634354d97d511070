#pragma once
// A scriptable HTTP/1.1 server on 127.0.0.1:0 that runs on its own thread, standing in for
// a model server: it answers each path as told and counts what it sees.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/support/upstream_behaviour.hpp"

namespace modelgate::test_support {

/// A request as the upstream received it.
struct recorded_request {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;  // in order, names as sent
  std::string body;
  std::size_t connection = 0;  // 1-based index of the TCP connection it came on

  /// Values of every header named `name` (case-insensitive).
  std::vector<std::string> values(std::string_view name) const;
  /// The first value of `name`, or "" when absent.
  std::string value(std::string_view name) const;
  bool has(std::string_view name) const { return !values(name).empty(); }
};

/// Certificate and key (PEM) for an upstream that speaks TLS.
struct upstream_tls {
  std::filesystem::path cert;
  std::filesystem::path key;
};

/// Thread-safety: all members may be called from the test thread while the server runs.
class fake_upstream {
 public:
  /// Binds 127.0.0.1:0 and starts serving, over TLS when `tls` is given. Every path answers
  /// "200 ok\n" until told otherwise.
  explicit fake_upstream(std::optional<upstream_tls> tls = std::nullopt);
  /// Stops the thread and closes every connection.
  ~fake_upstream();
  fake_upstream(const fake_upstream&) = delete;
  fake_upstream& operator=(const fake_upstream&) = delete;

  std::uint16_t port() const;
  /// "127.0.0.1:PORT".
  std::string address() const;

  /// Behaviour for requests whose path (query removed) equals `path`; takes effect for
  /// requests read afterwards.
  void on(const std::string& path, upstream_behaviour b);
  /// Behaviour for paths without their own.
  void otherwise(upstream_behaviour b);

  /// Accepted TCP connections so far.
  std::size_t connections() const;
  /// Connections currently open.
  std::size_t open_connections() const;
  /// Complete requests read so far.
  std::size_t requests() const;
  /// Responses cut short because writing to the peer failed (it had closed the connection).
  std::size_t aborted_writes() const;
  /// SSE event bytes (chunk payloads) written so far over all streams; it stops growing while
  /// a reader is not taking them (the write waits on a full TCP window).
  std::size_t sse_bytes_written() const;
  /// Every request read so far, in order.
  std::vector<recorded_request> recorded() const;
  /// The last request read; throws std::logic_error when there was none.
  recorded_request last_request() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace modelgate::test_support
