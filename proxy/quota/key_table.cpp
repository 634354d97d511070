#include "proxy/quota/key_table.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstring>
#include <stdexcept>

namespace modelgate::quota {

namespace {

std::uint64_t prefix_of(const sha256_digest& d) {
  std::uint64_t v = 0;
  std::memcpy(&v, d.data(), sizeof v);
  return v;
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

sha256_digest sha256(std::string_view raw) {
  sha256_digest out{};
  unsigned int len = 0;
  if (EVP_Digest(raw.data(), raw.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 ||
      len != out.size()) {
    throw std::runtime_error("SHA-256 failed");
  }
  return out;
}

std::string hash_key(std::string_view raw) {
  static constexpr char digits[] = "0123456789abcdef";
  const auto d = sha256(raw);
  std::string hex;
  hex.reserve(64);
  for (unsigned char b : d) {
    hex.push_back(digits[b >> 4]);
    hex.push_back(digits[b & 0xf]);
  }
  return hex;
}

std::optional<sha256_digest> parse_sha256_hex(std::string_view hex) {
  sha256_digest out{};
  if (hex.size() != 2 * out.size()) return std::nullopt;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = hex_value(hex[2 * i]);
    const int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  return out;
}

std::optional<std::string_view> extract_api_key(std::string_view authorization,
                                                std::string_view x_api_key) noexcept {
  const auto auth = trim(authorization);
  constexpr std::string_view scheme = "bearer";
  if (auth.size() > scheme.size() && iequals(auth.substr(0, scheme.size()), scheme) &&
      (auth[scheme.size()] == ' ' || auth[scheme.size()] == '\t')) {
    const auto key = trim(auth.substr(scheme.size()));
    if (!key.empty()) return key;
  }
  const auto key = trim(x_api_key);
  if (!key.empty()) return key;
  return std::nullopt;
}

bool route_allowed(const api_key& key, std::string_view target,
                   std::optional<std::string_view> model) noexcept {
  if (key.routes.empty()) return true;
  const auto path = target.substr(0, target.find('?'));
  for (const auto& r : key.routes) {
    if (!r.empty() && r.front() == '/') {
      if (path.starts_with(r)) return true;
    } else if (model && *model == r) {
      return true;
    }
  }
  return false;
}

key_table::key_table(std::vector<api_key> keys) : keys_(std::move(keys)) {
  std::unordered_map<std::string_view, std::size_t> ids;
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    const auto& k = keys_[i];
    if (!ids.emplace(k.id, i).second) {
      throw std::invalid_argument("auth.keys: duplicate id '" + k.id + "'");
    }
    if (find_digest(k.digest) != nullptr) {
      throw std::invalid_argument("auth.keys: key '" + k.id + "' has the same sha256 as '" +
                                  find_digest(k.digest)->id + "'");
    }
    by_prefix_.emplace(prefix_of(k.digest), i);
  }
}

const api_key* key_table::find(std::string_view raw_key) const { return find_digest(sha256(raw_key)); }

const api_key* key_table::find_digest(const sha256_digest& digest) const {
  const api_key* found = nullptr;
  auto [first, last] = by_prefix_.equal_range(prefix_of(digest));
  for (auto it = first; it != last; ++it) {
    const auto& k = keys_[it->second];
    if (CRYPTO_memcmp(k.digest.data(), digest.data(), digest.size()) == 0) found = &k;
  }
  return found;
}

const api_key* key_table::find_id(std::string_view id) const {
  for (const auto& k : keys_) {
    if (k.id == id) return &k;
  }
  return nullptr;
}

}  // namespace modelgate::quota
