#pragma once
// Admin endpoint for the response cache: POST /admin/cache/purge empties it, or only the
// entries of one route with ?route=NAME (percent-encoded).

#include "proxy/runtime_state.hpp"

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace modelgate::proxy {

inline constexpr std::string_view cache_purge_path = "/admin/cache/purge";

/// Answers a request for cache_purge_path: 200 `{"purged":N}`; 404 when no route caches or
/// the route is unknown; 405 for a method other than POST. Thread-safe (the store is).
void handle_cache_purge(runtime_state& st,
                        const boost::beast::http::request<boost::beast::http::string_body>& req,
                        boost::beast::http::response<boost::beast::http::string_body>& res);

/// The percent-decoded value of `name` in a query string; nullopt when absent or malformed.
std::optional<std::string> query_param(std::string_view query, std::string_view name);

}  // namespace modelgate::proxy
