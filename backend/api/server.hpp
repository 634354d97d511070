#pragma once
// The backend's HTTP server: one I/O thread (inference runs on the engine's own threads), a
// coroutine per connection, and a graceful stop on SIGTERM / SIGINT.

#include "backend/api/listen_fds.hpp"
#include "backend/api/server_context.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace modelgate::backend {

struct listen_address {
  std::string host;
  std::uint16_t port = 0;
};

/// "HOST:PORT" (port 0: any free port); throws std::invalid_argument.
listen_address parse_listen(const std::string& text);

/// Listens on `at`, or on `inherited` (the socket passed by the parent, see listen_fds.hpp) when
/// given; logs "listening on HOST:PORT" with the real port, and serves until a signal: then
/// readiness turns false, new work gets 503, queued and running work finishes, and it returns 0.
/// Throws at start-up when it cannot listen.
int serve_http(server_context& ctx, const listen_address& at,
               std::optional<passed_socket> inherited = std::nullopt);

}  // namespace modelgate::backend
