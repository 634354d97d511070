#pragma once
// OpenSSL contexts for the client side (TLS termination) and for TLS upstreams.

#include "config/config.hpp"

#include <boost/asio/ssl/context.hpp>

#include <memory>

namespace modelgate::proxy {

/// TLS 1.2+, ECDHE AEAD ciphers, ALPN http/1.1, buffers released while idle; client
/// certificates verified against `cfg.client_ca` when set (required if require_client_cert).
/// Throws std::runtime_error naming the file when the certificate or key cannot be used.
std::shared_ptr<boost::asio::ssl::context> make_server_tls(const config::server_tls& cfg);

/// TLS 1.2+ client context verifying the peer against `cfg.ca` (or the system store).
std::shared_ptr<boost::asio::ssl::context> make_upstream_tls(const config::upstream_tls& cfg);

}  // namespace modelgate::proxy
