#include "proxy/cache/cache_key.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <vector>

namespace modelgate::cache {
namespace {

// v2 (issue 14): the route's identity instead of its name, and the Host.
constexpr std::string_view version_tag = "modelgate-cache-key-v2";

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// "Name:8443" → "name", "[::1]:8443" → "[::1]": what routes match on (route_table.cpp).
std::string host_key(std::string_view host) {
  if (host.starts_with('[')) {
    if (auto close = host.find(']'); close != std::string_view::npos)
      host = host.substr(0, close + 1);
  } else if (auto colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  return lower(host);
}

// One field: a tag byte, a fixed-width little-endian length (so no field can run into the
// next), the bytes.
template <class Sink>
void put_field(Sink& sink, char tag, std::string_view bytes) {
  char head[9];
  head[0] = tag;
  auto n = static_cast<std::uint64_t>(bytes.size());
  for (int i = 0; i < 8; ++i) head[1 + i] = static_cast<char>((n >> (8 * i)) & 0xff);
  sink.put(std::string_view(head, sizeof head));
  sink.put(bytes);
}

// Writes the pre-image field by field to any sink with put(std::string_view).
template <class Sink>
void encode(const key_input& in, Sink& sink) {
  auto field = [&](char tag, std::string_view bytes) { put_field(sink, tag, bytes); };
  field('v', version_tag);
  field('m', in.method);
  field('r', in.route);
  field('a', host_key(in.host));
  field('p', in.path);
  field('q', in.query);
  if (in.body && in.body->json()) {
    std::string canon;
    canon.reserve(in.body->raw().size());
    append_canonical_json(*in.body->json(), canon);
    field('j', canon);
  } else {
    field('b', in.body ? in.body->raw() : std::string_view());
  }
  // Header names are case-insensitive and the configured order is irrelevant.
  std::vector<std::pair<std::string, std::optional<std::string_view>>> vary;
  vary.reserve(in.vary.size());
  for (const auto& v : in.vary) vary.emplace_back(lower(v.name), v.value);
  std::sort(vary.begin(), vary.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [name, value] : vary) {
    field('h', name);
    // A missing header differs from an empty one.
    if (value) field('=', *value);
    else field('-', {});
  }
  if (in.scope == key_scope::shared) field('s', {});
  else field('k', in.api_key_id);
}

struct string_sink {
  std::string out;
  void put(std::string_view s) { out.append(s); }
};

struct sha256_sink {
  struct ctx_free {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  };
  std::unique_ptr<EVP_MD_CTX, ctx_free> ctx{EVP_MD_CTX_new()};
  bool ok = ctx && EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1;
  void put(std::string_view s) {
    if (ok && !s.empty()) ok = EVP_DigestUpdate(ctx.get(), s.data(), s.size()) == 1;
  }
};

}  // namespace

std::string encode_route_identity(const route_identity& id) {
  string_sink s;
  put_field(s, 'P', id.path_prefix);
  put_field(s, 'E', id.path);
  put_field(s, 'H', lower(id.host));
  if (id.header_name) {
    put_field(s, 'N', lower(*id.header_name));
    put_field(s, 'V', id.header_value);
  }
  // The route matches any of its models: the list is a set.
  std::vector<std::string_view> models(id.models.begin(), id.models.end());
  std::sort(models.begin(), models.end());
  for (auto m : models) put_field(s, 'M', m);
  put_field(s, 'O', id.pool);
  put_field(s, 'F', id.fallback);
  return std::move(s.out);
}

std::string cache_key::hex() const {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * size);
  for (auto b : digest_) {
    out += digits[b >> 4];
    out += digits[b & 0x0f];
  }
  return out;
}

std::string key_material(const key_input& in) {
  string_sink s;
  encode(in, s);
  return std::move(s.out);
}

cache_key make_key(const key_input& in) {
  sha256_sink s;
  encode(in, s);
  cache_key::digest_type d{};
  unsigned int len = 0;
  if (s.ok) s.ok = EVP_DigestFinal_ex(s.ctx.get(), d.data(), &len) == 1 && len == d.size();
  // SHA-256 from the default provider cannot fail short of memory exhaustion: a broken invariant.
  if (!s.ok) std::abort();
  return cache_key(d);
}

std::pair<std::string_view, std::string_view> split_target(std::string_view target) {
  auto q = target.find('?');
  if (q == std::string_view::npos) return {target, {}};
  return {target.substr(0, q), target.substr(q + 1)};
}

}  // namespace modelgate::cache
