#include "proxy/http/tls_context.hpp"

#include <openssl/ssl.h>

#include <cstring>
#include <stdexcept>

namespace modelgate::proxy {
namespace ssl = boost::asio::ssl;

namespace {

constexpr unsigned char alpn_http11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

// Selects http/1.1 when the client offers it; a client offering only other protocols proceeds
// without ALPN rather than failing the handshake.
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void*) {
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, alpn_http11, sizeof alpn_http11, in, inlen) ==
      OPENSSL_NPN_NEGOTIATED) {
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

void harden(ssl::context& ctx) {
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                  ssl::context::no_compression);
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  SSL_CTX_set_cipher_list(ctx.native_handle(),
                          "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                          "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                          "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305");
  // Idle keep-alive connections then hold no 17 KiB read/write buffers.
  SSL_CTX_set_mode(ctx.native_handle(), SSL_MODE_RELEASE_BUFFERS);
}

}  // namespace

std::shared_ptr<ssl::context> make_server_tls(const config::server_tls& cfg) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  harden(*ctx);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(cfg.cert.string(), ec);
  if (ec) throw std::runtime_error("TLS certificate " + cfg.cert.string() + ": " + ec.message());
  ctx->use_private_key_file(cfg.key.string(), ssl::context::pem, ec);
  if (ec) throw std::runtime_error("TLS key " + cfg.key.string() + ": " + ec.message());
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1)
    throw std::runtime_error("TLS key " + cfg.key.string() + " does not match certificate " +
                             cfg.cert.string());
  SSL_CTX_set_alpn_select_cb(ctx->native_handle(), select_alpn, nullptr);
  return ctx;
}

std::shared_ptr<ssl::context> make_upstream_tls(const config::upstream_tls& cfg) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  harden(*ctx);
  boost::system::error_code ec;
  if (cfg.ca.empty()) ctx->set_default_verify_paths(ec);
  else ctx->load_verify_file(cfg.ca.string(), ec);
  if (ec) throw std::runtime_error("upstream TLS CA " + cfg.ca.string() + ": " + ec.message());
  ctx->set_verify_mode(cfg.verify ? ssl::verify_peer : ssl::verify_none);
  SSL_CTX_set_alpn_protos(ctx->native_handle(), alpn_http11, sizeof alpn_http11);
  return ctx;
}

}  // namespace modelgate::proxy
