#include "proxy/quota/redis_scripts.hpp"

#include "proxy/quota/gcra.hpp"
#include "proxy/quota/local_store.hpp"

#include <openssl/evp.h>

#include <chrono>
#include <cstdio>
#include <stdexcept>

namespace modelgate::quota::redis_scripts {

// Shared by both scripts: now in µs from Redis's clock, a key's TAT (never in the past), the
// status (remaining, reset) of a TAT, and SET with an expiry a second past the reset.
#define MODELGATE_LUA_PRELUDE                                                          \
  "local t = redis.call('TIME')\n"                                                    \
  "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"                          \
  "local function load(key)\n"                                                        \
  "  local tat = tonumber(redis.call('GET', key)) or now\n"                         \
  "  if tat < now then tat = now end\n"                                               \
  "  return tat\n"                                                                    \
  "end\n"                                                                             \
  "local function status(tat, interval, burst)\n"                                     \
  "  local ahead = tat - now\n"                                                       \
  "  local room = interval * burst - ahead\n"                                         \
  "  local remaining = 0\n"                                                           \
  "  if room > 0 then remaining = math.min(math.floor(room / interval), burst) end\n" \
  "  return remaining, math.ceil(ahead)\n"                                            \
  "end\n"                                                                             \
  "local function store(key, tat)\n"                                                  \
  "  redis.call('SET', key, string.format('%.3f', tat), 'PX',\n"                     \
  "             string.format('%.0f', math.ceil((tat - now) / 1000) + 1000))\n"      \
  "end\n"

const std::string_view admit_lua =
    "-- modelgate quota admit v1: request rate + token reservation, GCRA in microseconds\n"
    MODELGATE_LUA_PRELUDE
    "local ri, rb = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
    "local ti, tb, tc = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])\n"
    "local rtat, ttat = now, now\n"
    "local rwait, twait = 0, 0\n"
    "if ri > 0 then\n"
    "  rtat = load(KEYS[1])\n"
    "  rwait = rtat + ri - ri * rb - now\n"
    "end\n"
    "if ti > 0 then\n"
    "  ttat = load(KEYS[2])\n"
    "  twait = ttat + ti * math.min(tc, tb) - ti * tb - now\n"
    "end\n"
    "local reason = 0\n"
    "if rwait > 0 then reason = 1 elseif twait > 0 then reason = 2 end\n"
    "if reason == 0 then\n"
    "  if ri > 0 then rtat = rtat + ri; store(KEYS[1], rtat) end\n"
    "  if ti > 0 then ttat = ttat + ti * tc; store(KEYS[2], ttat) end\n"
    "end\n"
    "local rrem, rreset, trem, treset = -1, 0, -1, 0\n"
    "if ri > 0 then rrem, rreset = status(rtat, ri, rb) end\n"
    "if ti > 0 then trem, treset = status(ttat, ti, tb) end\n"
    "local wait = 0\n"
    "if reason ~= 0 then wait = math.ceil(math.max(rwait, twait)) end\n"
    "return {reason, wait, rrem, rreset, trem, treset}\n";

const std::string_view reconcile_lua =
    "-- modelgate quota reconcile v1: charge or refund tokens after the response\n"
    MODELGATE_LUA_PRELUDE
    "local ti, tb, delta = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])\n"
    "local tat = load(KEYS[1]) + ti * delta\n"
    "if tat < now then tat = now end\n"
    "store(KEYS[1], tat)\n"
    "local rem, reset = status(tat, ti, tb)\n"
    "return {rem, reset}\n";

#undef MODELGATE_LUA_PRELUDE

namespace {

// A GCRA interval in µs with nanosecond precision ("333333.333"), the same rounding as local.
std::string micros(clock::duration d) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%lld.%03lld", static_cast<long long>(ns / 1000),
                static_cast<long long>(ns % 1000));
  return buf;
}

std::optional<limit_status> status_from(const redis_reply& remaining, const redis_reply& reset,
                                        const gcra_limit& l) {
  if (l.unlimited()) return std::nullopt;
  return limit_status{l.burst, static_cast<std::uint64_t>(std::max(0LL, remaining.integer)),
                      std::chrono::microseconds(std::max(0LL, reset.integer))};
}

bool integers(const redis_reply& r, std::size_t n) {
  if (r.type != redis_reply::kind::array || r.elements.size() != n) return false;
  for (const auto& e : r.elements) {
    if (e.type != redis_reply::kind::integer) return false;
  }
  return true;
}

}  // namespace

std::string sha1_hex(std::string_view script) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(script.data(), script.size(), md, &len, EVP_sha1(), nullptr) != 1) {
    throw std::runtime_error("SHA-1 failed");
  }
  static constexpr char digits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex.push_back(digits[md[i] >> 4]);
    hex.push_back(digits[md[i] & 0xf]);
  }
  return hex;
}

std::array<std::string, 2> keys_for(std::string_view prefix, std::string_view key_id) {
  std::string base = std::string(prefix) + ":{" + std::string(key_id) + "}:";
  return {base + "rq", base + "tk"};
}

std::array<std::string, 5> admit_args(const quota_limits& limits, std::uint64_t token_estimate) {
  const auto rl = request_limit(limits);
  const auto tl = token_limit(limits);
  return {rl.unlimited() ? "0" : micros(rl.interval), std::to_string(rl.burst),
          tl.unlimited() ? "0" : micros(tl.interval), std::to_string(tl.burst),
          std::to_string(token_estimate)};
}

std::optional<std::array<std::string, 3>> reconcile_args(const quota_limits& limits,
                                                         std::uint64_t reserved,
                                                         std::uint64_t actual) {
  const auto tl = token_limit(limits);
  if (tl.unlimited()) return std::nullopt;
  // Built without `"-" + std::string`, which GCC 12 at -O3 flags as -Wrestrict (GCC bug 105329).
  std::string delta = std::to_string(actual >= reserved ? actual - reserved : reserved - actual);
  if (actual < reserved) delta.insert(delta.begin(), '-');
  return std::array<std::string, 3>{micros(tl.interval), std::to_string(tl.burst), delta};
}

std::optional<decision> parse_admit(const redis_reply& reply, const quota_limits& limits) {
  if (!integers(reply, 6)) return std::nullopt;
  const auto& e = reply.elements;
  decision d;
  switch (e[0].integer) {
    case 0: break;
    case 1: d.rejected = reject_reason::rate; break;
    case 2: d.rejected = reject_reason::tokens; break;
    default: return std::nullopt;
  }
  if (d.rejected) d.retry_after = std::chrono::microseconds(std::max(0LL, e[1].integer));
  d.requests = status_from(e[2], e[3], request_limit(limits));
  d.tokens = status_from(e[4], e[5], token_limit(limits));
  return d;
}

std::optional<limit_status> parse_reconcile(const redis_reply& reply, const quota_limits& limits) {
  const auto tl = token_limit(limits);
  if (!integers(reply, 2) || tl.unlimited()) return std::nullopt;
  return status_from(reply.elements[0], reply.elements[1], tl);
}

}  // namespace modelgate::quota::redis_scripts
