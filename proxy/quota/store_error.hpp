#pragma once
// Why a call to the shared quota store failed. The caller maps any of these to `on_error`
// (allow: fall back to the local limiter; deny: 503) and counts it by store_error_name().

#include <boost/system/error_code.hpp>

#include <string_view>
#include <type_traits>

namespace modelgate::quota {

enum class store_errc {
  timeout = 1,     // the call's deadline passed (pool wait, connect, or the round trip)
  connect_failed,  // could not open a connection (refused, unreachable, resolve failed)
  backing_off,     // a recent connect failed; failing fast until the backoff passes
  disconnected,    // the connection broke during the call
  protocol,        // unparsable or unexpected reply
  script,          // Redis answered with an error (other than NOSCRIPT, which is handled)
};

const boost::system::error_category& store_category() noexcept;

inline boost::system::error_code make_error_code(store_errc e) noexcept {
  return {static_cast<int>(e), store_category()};
}

/// Low-cardinality label for metrics: "timeout", "connect_failed", "backing_off",
/// "disconnected", "protocol", "script"; "other" for codes of other categories.
std::string_view store_error_name(const boost::system::error_code& ec) noexcept;

}  // namespace modelgate::quota

template <>
struct boost::system::is_error_code_enum<modelgate::quota::store_errc> : std::true_type {};
