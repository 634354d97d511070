#include "proxy/cache/response_recorder.hpp"

#include <algorithm>
#include <array>

namespace modelgate::cache {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

constexpr std::array<std::string_view, 13> dropped_headers = {
    "connection", "keep-alive",     "proxy-connection", "transfer-encoding", "te",
    "trailer",    "upgrade",        "content-length",   "age",               "x-request-id",
    "x-cache",    "set-cookie",     "retry-after"};

}  // namespace

bool is_stored_header(std::string_view name) {
  if (name.size() >= 6 && iequals(name.substr(0, 6), "proxy-")) return false;
  // Per caller (issue 14): the rate-limit state of whoever filled the entry, not of whoever
  // gets the hit; the proxy adds the hit's caller's own.
  if (name.size() >= 12 && iequals(name.substr(0, 12), "x-ratelimit-")) return false;
  return std::none_of(dropped_headers.begin(), dropped_headers.end(),
                      [&](std::string_view d) { return iequals(name, d); });
}

response_recorder::response_recorder(std::size_t max_bytes) : max_bytes_(max_bytes) {}

bool response_recorder::charge(std::size_t n) {
  if (!entry_) return false;
  bytes_ += n;
  if (bytes_ <= max_bytes_) return true;
  over_cap_ = true;
  abort();
  return false;
}

void response_recorder::begin(unsigned status, body_framing framing, std::size_t expected_body) {
  entry_ = std::make_unique<cache_entry>();
  over_cap_ = false;
  bytes_ = 0;
  entry_->status = status;
  entry_->framing = framing;
  if (!charge(sizeof(cache_entry) + entry_overhead_bytes)) return;
  // A declared length past the cap will not fit: stop now rather than copy it first.
  if (expected_body > max_bytes_ - bytes_) {
    over_cap_ = true;
    abort();
    return;
  }
  entry_->body.reserve(expected_body);
}

void response_recorder::add_header(std::string_view name, std::string_view value) {
  if (!entry_) return;
  if (iequals(name, "age")) {
    long long s = 0;
    for (char c : value) {
      if (c < '0' || c > '9') return;
      s = std::min(s * 10 + (c - '0'), 2147483648LL);
    }
    entry_->initial_age = std::chrono::seconds(s);
    return;
  }
  if (!is_stored_header(name)) return;
  if (!charge(sizeof(header_field) + name.size() + value.size())) return;
  entry_->headers.push_back(header_field{lower(name), std::string(value)});
}

void response_recorder::append(std::string_view piece) {
  if (!entry_ || piece.empty()) return;
  if (!charge(piece.size() + sizeof(std::size_t))) return;
  entry_->body.append(piece);
  entry_->piece_ends.push_back(entry_->body.size());
}

void response_recorder::abort() { entry_.reset(); }

std::shared_ptr<cache_entry> response_recorder::finish(std::string route, time_point now,
                                                       duration ttl) {
  if (!charge(route.size())) return nullptr;
  auto e = std::move(entry_);
  e->route = std::move(route);
  e->stored_at = now;
  e->expires_at = now + ttl;
  // Growth by doubling may leave up to half the buffer unused; the store counts sizes.
  if (e->body.capacity() - e->body.size() > e->body.size() / 8) e->body.shrink_to_fit();
  e->piece_ends.shrink_to_fit();
  return std::shared_ptr<cache_entry>(std::move(e));
}

}  // namespace modelgate::cache
