#pragma once
// Two steps of an upstream attempt that are not the exchange's own logic: taking the backend's
// load report from a response header, and pausing before a retry.

#include "config/config.hpp"
#include "proxy/health/pool_live.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>

#include <cstdint>

namespace modelgate::proxy {

/// Reads (and removes) the backend's queue-depth header, when the pool is told to look for one.
void take_load_report(pool_live& live, std::size_t backend, boost::beast::http::response_header<>& res);

/// Waits the jittered backoff before retry number `retry` (0-based); `random` is a uniform
/// 64-bit draw. On the caller's executor.
boost::asio::awaitable<void> retry_pause(const config::retry_policy& policy, unsigned retry,
                                         std::uint64_t random);

}  // namespace modelgate::proxy
