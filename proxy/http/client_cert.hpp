#pragma once
// The identity of a client that authenticated with a certificate (mTLS), for the backends, in
// the X-Forwarded-Client-Cert format Envoy defined and others read:
//   Hash=<sha256 of the DER, hex>;Subject="<RFC 2253 DN>";URI=<URI SAN>;DNS=<DNS SAN>...
// The proxy removes any X-Forwarded-Client-Cert a client sends and sets it only for a
// certificate the listener verified, so a backend can trust it.

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <string>

namespace modelgate::proxy {

/// The header value for `cert` ("" for null).
std::string forwarded_client_cert(X509* cert);

/// The header value for the peer certificate of a finished handshake: "" when the client sent
/// none or it did not verify.
std::string forwarded_client_cert(SSL* ssl);

}  // namespace modelgate::proxy
