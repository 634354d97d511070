#pragma once
// The Lua scripts that make each shared-quota check one atomic Redis round trip, their SHA-1s
// (for EVALSHA), the arguments built from a key's limits, and their replies turned back into
// decisions. Pure. The GCRA arithmetic mirrors gcra.cpp, in microseconds of Redis's own clock
// (TIME), so proxies with skewed clocks still share one schedule.

#include "proxy/quota/decision.hpp"
#include "proxy/quota/quota_limits.hpp"
#include "proxy/quota/redis_reply.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace modelgate::quota::redis_scripts {

/// KEYS: requests TAT, tokens TAT.
/// ARGV: request interval µs (0: no limit), request burst, token interval µs (0: no limit),
///       token burst, token cost.
/// Returns {reason 0 admit | 1 rate | 2 tokens, retry_after µs, requests remaining (-1: no
///          limit), requests reset µs, tokens remaining (-1: no limit), tokens reset µs}.
extern const std::string_view admit_lua;

/// KEYS: tokens TAT. ARGV: token interval µs, token burst, signed token delta (+charge/-refund).
/// Returns {tokens remaining, tokens reset µs}.
extern const std::string_view reconcile_lua;

/// Lower-case hex SHA-1 of a script, as SCRIPT LOAD returns it.
std::string sha1_hex(std::string_view script);

/// Redis keys of one API key id: "<prefix>:{<id>}:rq" and "<prefix>:{<id>}:tk" (the hash tag keeps
/// both in one cluster slot).
std::array<std::string, 2> keys_for(std::string_view prefix, std::string_view key_id);

/// ARGV of admit_lua for these limits and token estimate.
std::array<std::string, 5> admit_args(const quota_limits& limits, std::uint64_t token_estimate);

/// ARGV of reconcile_lua; nullopt when the key has no token limit (nothing to send).
std::optional<std::array<std::string, 3>> reconcile_args(const quota_limits& limits,
                                                         std::uint64_t reserved,
                                                         std::uint64_t actual);

/// The decision an admit_lua reply encodes; nullopt for a malformed reply.
std::optional<decision> parse_admit(const redis_reply& reply, const quota_limits& limits);

/// The token status a reconcile_lua reply encodes; nullopt for a malformed reply.
std::optional<limit_status> parse_reconcile(const redis_reply& reply, const quota_limits& limits);

}  // namespace modelgate::quota::redis_scripts
