#include "proxy/quota/decision.hpp"

#include <chrono>

namespace modelgate::quota {

std::string_view reason_name(reject_reason r) noexcept {
  switch (r) {
    case reject_reason::rate: return "rate";
    case reject_reason::concurrency: return "concurrency";
    case reject_reason::tokens: return "tokens";
    case reject_reason::unauthorized: return "unauthorized";
    case reject_reason::forbidden: return "forbidden";
    case reject_reason::unavailable: return "unavailable";
  }
  return "unknown";
}

unsigned http_status(reject_reason r) noexcept {
  switch (r) {
    case reject_reason::unauthorized: return 401;
    case reject_reason::forbidden: return 403;
    case reject_reason::unavailable: return 503;
    case reject_reason::rate:
    case reject_reason::concurrency:
    case reject_reason::tokens: return 429;
  }
  return 500;
}

std::string retry_after_seconds(clock::duration d) {
  auto s = std::chrono::ceil<std::chrono::seconds>(d).count();
  return std::to_string(s < 1 ? 1 : s);
}

std::string format_reset(clock::duration d) {
  using namespace std::chrono;
  auto ms = ceil<milliseconds>(d).count();
  if (ms <= 0) return "0s";
  if (ms < 1000) return std::to_string(ms) + "ms";
  std::string out;
  const auto h = ms / 3'600'000;
  const auto m = ms / 60'000 % 60;
  if (h > 0) out += std::to_string(h) + "h";
  if (h > 0 || m > 0) out += std::to_string(m) + "m";
  const auto s = ms / 1000 % 60;
  auto frac = ms % 1000;
  out += std::to_string(s);
  if (frac != 0) {
    // Go prints the fraction without trailing zeros: 1.5s, 1.25s, 1.005s.
    std::string f = std::to_string(frac + 1000).substr(1);
    while (f.back() == '0') f.pop_back();
    out += "." + f;
  }
  return out + "s";
}

namespace {

void add_trio(std::vector<header_field>& out, const limit_status& s, std::string_view limit_name,
              std::string_view remaining_name, std::string_view reset_name) {
  out.push_back({limit_name, std::to_string(s.limit)});
  out.push_back({remaining_name, std::to_string(s.remaining)});
  out.push_back({reset_name, format_reset(s.reset)});
}

}  // namespace

std::vector<header_field> response_headers(const decision& d) {
  std::vector<header_field> out;
  out.reserve(8);
  if (d.rejected) {
    switch (*d.rejected) {
      case reject_reason::unauthorized:
        out.push_back({"WWW-Authenticate", "Bearer realm=\"modelgate\""});
        break;
      case reject_reason::forbidden: break;
      default: out.push_back({"Retry-After", retry_after_seconds(d.retry_after)});
    }
  }
  if (d.requests) {
    add_trio(out, *d.requests, "x-ratelimit-limit-requests", "x-ratelimit-remaining-requests",
             "x-ratelimit-reset-requests");
  }
  if (d.tokens) {
    add_trio(out, *d.tokens, "x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens",
             "x-ratelimit-reset-tokens");
  }
  return out;
}

}  // namespace modelgate::quota
