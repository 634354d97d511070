#pragma once
// Whether a request may be answered from the cache, and whether a response may be stored.
// Pure functions over parsed values.

#include "proxy/cache/cache_control.hpp"
#include "proxy/cache/cache_policy.hpp"
#include "proxy/cache/request_body.hpp"

#include <optional>
#include <string_view>

namespace modelgate::cache {

/// What the request path does with a request before routing it upstream.
enum class request_action {
  bypass,   // no lookup, no coalescing, no store; `x-cache: BYPASS`
  lookup,   // look up; on a miss join the single-flight and store the answer
  refresh,  // client `no-cache` / `max-age=0`: no lookup, no coalescing, store the answer
};

enum class bypass_reason {
  none,
  disabled,           // the route has no `cache: { enabled: true }`
  method,             // not GET or POST
  client_no_store,    // request Cache-Control: no-store
  nondeterministic,   // generation request without temperature 0 or a seed
};

std::string_view to_string(bypass_reason r);

struct request_decision {
  request_action action = request_action::bypass;
  bypass_reason reason = bypass_reason::none;
  /// Client `max-age=N` (N > 0): only entries no older than this may answer.
  std::optional<duration> max_age;
};

/// A generation request is a JSON object body with a `prompt` or `messages` member.
bool is_generation_request(const request_body& body);

/// Deterministic generation: `temperature` is a number equal to 0, or `seed` is present and
/// not null.
bool is_deterministic(const request_body& body);

/// Decides from the route's policy, the method, the body and the client's Cache-Control.
/// Rules, first match wins:
///   route not enabled → bypass(disabled); method not GET/POST → bypass(method);
///   no-store → bypass(client_no_store);
///   generation request, not deterministic, rule deterministic_only → bypass(nondeterministic);
///   no-cache or max-age=0 → refresh; max-age=N → lookup with max_age N; else lookup.
request_decision decide_request(const route_policy& route, std::string_view method,
                                const request_body& body, const cache_control& client);

enum class store_reason {
  none,
  status,           // not 200
  upstream_no_store,
  upstream_private,
  upstream_no_cache,  // would need revalidation on every use, which this cache does not do
  zero_ttl,          // max-age=0 / s-maxage=0
  vary_star,         // `Vary: *`: no later request can be known to match
};

std::string_view to_string(store_reason r);

struct response_decision {
  bool store = false;
  store_reason reason = store_reason::none;
  duration ttl{};  // when store: min(route ttl, upstream s-maxage, else max-age)
};

/// Decides whether a response may be stored and for how long. `route_ttl` is the route's ttl
/// or the store's default. s-maxage takes precedence over max-age (this is a shared cache).
/// `vary` is the upstream's Vary header: other names than `*` are not acted on (the key uses
/// the route's configured `vary` list instead).
response_decision decide_response(unsigned status, const cache_control& upstream,
                                  duration route_ttl, std::string_view vary = {});

}  // namespace modelgate::cache
