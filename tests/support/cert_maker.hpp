#pragma once
// Test certificates made at test time with the `openssl` command line: a CA and a server
// certificate for 127.0.0.1 and localhost signed by it, and client certificates for mTLS.

#include <filesystem>
#include <string>

namespace modelgate::test_support {

/// PEM files written by make_test_certs.
struct cert_files {
  std::filesystem::path ca_cert;  // the trust anchor clients verify against
  std::filesystem::path ca_key;
  std::filesystem::path server_cert;  // SAN: DNS:localhost, IP:127.0.0.1
  std::filesystem::path server_key;
};

/// Writes ca.crt, ca.key, server.crt and server.key (P-256 keys, valid one day) into `dir`,
/// with `prefix` before each name (e.g. "upstream-" for a second set). Throws
/// std::runtime_error with openssl's output when a step fails.
cert_files make_test_certs(const std::filesystem::path& dir, const std::string& prefix = "");

/// A client certificate (extendedKeyUsage clientAuth) and its key.
struct client_cert_files {
  std::filesystem::path cert;
  std::filesystem::path key;
};

/// Writes NAME.crt and NAME.key (P-256, CN=NAME, valid one day) into `dir`, signed by the CA of
/// `ca` (from make_test_certs). Throws std::runtime_error like make_test_certs.
client_cert_files make_client_cert(const std::filesystem::path& dir, const cert_files& ca,
                                   const std::string& name);

}  // namespace modelgate::test_support
