#include "proxy/http/client_cert.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string_view>

namespace modelgate::proxy {
namespace {

// A header value takes no control characters; such a name is left out rather than altered.
bool printable(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return false;
  return true;
}

// XFCC quoting: a value with , ; = or " is double-quoted, with " and \ escaped.
std::string quoted(std::string_view v, bool always) {
  if (!always && v.find_first_of(",;=\"") == std::string_view::npos) return std::string(v);
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string subject_rfc2253(X509* cert) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (!bio || X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) < 0)
    return {};
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

}  // namespace

std::string forwarded_client_cert(X509* cert) {
  if (!cert) return {};
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &md_len) != 1) return {};
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "Hash=";
  for (unsigned i = 0; i < md_len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 0xf];
  }
  if (auto subject = subject_rfc2253(cert); !subject.empty() && printable(subject))
    out += ";Subject=" + quoted(subject, true);

  using names_ptr = std::unique_ptr<GENERAL_NAMES, void (*)(GENERAL_NAMES*)>;
  names_ptr names(static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)),
                  [](GENERAL_NAMES* g) { GENERAL_NAMES_free(g); });
  bool uri_done = false;  // XFCC carries one URI SAN
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type != GEN_URI && name->type != GEN_DNS) continue;
    const ASN1_IA5STRING* s = name->type == GEN_URI ? name->d.uniformResourceIdentifier : name->d.dNSName;
    std::string_view value(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                           static_cast<std::size_t>(ASN1_STRING_length(s)));
    if (value.empty() || !printable(value)) continue;
    if (name->type == GEN_URI) {
      if (uri_done) continue;
      uri_done = true;
      out += ";URI=" + quoted(value, false);
    } else {
      out += ";DNS=" + quoted(value, false);
    }
  }
  return out;
}

std::string forwarded_client_cert(SSL* ssl) {
  if (!ssl || SSL_get_verify_result(ssl) != X509_V_OK) return {};
  std::unique_ptr<X509, decltype(&X509_free)> cert(SSL_get_peer_certificate(ssl), &X509_free);
  return forwarded_client_cert(cert.get());
}

}  // namespace modelgate::proxy
