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
  // Named rather than left to openssl.cnf, which may add CCM or other suites.
  SSL_CTX_set_ciphersuites(ctx.native_handle(),
                           "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
                           "TLS_CHACHA20_POLY1305_SHA256");
  // Idle keep-alive connections then hold no 17 KiB read/write buffers.
  SSL_CTX_set_mode(ctx.native_handle(), SSL_MODE_RELEASE_BUFFERS);
}

// Verifies client certificates against `ca` and tells clients which CAs are accepted.
void require_client_certs(ssl::context& ctx, const config::server_tls& cfg) {
  boost::system::error_code ec;
  ctx.load_verify_file(cfg.client_ca.string(), ec);
  if (ec) throw std::runtime_error("TLS client_ca " + cfg.client_ca.string() + ": " + ec.message());
  STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(cfg.client_ca.string().c_str());
  if (names == nullptr)
    throw std::runtime_error("TLS client_ca " + cfg.client_ca.string() + ": no certificates");
  SSL_CTX_set_client_CA_list(ctx.native_handle(), names);
  ctx.set_verify_mode(cfg.require_client_cert
                          ? ssl::verify_peer | ssl::verify_fail_if_no_peer_cert
                          : ssl::verify_peer);
  // Without a session id context OpenSSL refuses to resume sessions of verified clients.
  static constexpr unsigned char sid_ctx[] = "modelgate-mtls";
  SSL_CTX_set_session_id_context(ctx.native_handle(), sid_ctx, sizeof sid_ctx - 1);
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
  // The server picks the suite from its own (all AEAD) list; renegotiation is never needed
  // for HTTP/1.1 and a client starting it only costs CPU.
  SSL_CTX_set_options(ctx->native_handle(), SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
  // Elliptic-curve key exchange only: a TLS 1.3 client may otherwise pick ffdhe8192, which costs
  // the server far more CPU per handshake than it costs the client.
  if (SSL_CTX_set1_groups_list(ctx->native_handle(), "X25519:P-256:P-384") != 1)
    throw std::runtime_error("TLS: cannot set key exchange groups");
  SSL_CTX_set_alpn_select_cb(ctx->native_handle(), select_alpn, nullptr);
  if (!cfg.client_ca.empty()) require_client_certs(*ctx, cfg);
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
