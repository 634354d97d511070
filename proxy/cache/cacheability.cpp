#include "proxy/cache/cacheability.hpp"

#include <algorithm>

namespace modelgate::cache {
namespace {

// True if the comma-separated list holds a `*` member.
bool vary_has_star(std::string_view vary) {
  while (!vary.empty()) {
    auto comma = vary.find(',');
    auto item = vary.substr(0, comma);
    vary.remove_prefix(comma == std::string_view::npos ? vary.size() : comma + 1);
    auto first = item.find_first_not_of(" \t");
    auto last = item.find_last_not_of(" \t");
    if (first != std::string_view::npos && item.substr(first, last - first + 1) == "*") return true;
  }
  return false;
}

}  // namespace

std::string_view to_string(bypass_reason r) {
  switch (r) {
    case bypass_reason::none: return "none";
    case bypass_reason::disabled: return "disabled";
    case bypass_reason::method: return "method";
    case bypass_reason::client_no_store: return "client_no_store";
    case bypass_reason::nondeterministic: return "nondeterministic";
  }
  return "unknown";
}

std::string_view to_string(store_reason r) {
  switch (r) {
    case store_reason::none: return "none";
    case store_reason::status: return "status";
    case store_reason::upstream_no_store: return "upstream_no_store";
    case store_reason::upstream_private: return "upstream_private";
    case store_reason::upstream_no_cache: return "upstream_no_cache";
    case store_reason::zero_ttl: return "zero_ttl";
    case store_reason::vary_star: return "vary_star";
  }
  return "unknown";
}

bool is_generation_request(const request_body& body) {
  const auto* o = body.object();
  return o && (o->contains("prompt") || o->contains("messages"));
}

bool is_deterministic(const request_body& body) {
  const auto* o = body.object();
  if (!o) return false;
  if (const auto* seed = o->if_contains("seed"); seed && !seed->is_null()) return true;
  const auto* t = o->if_contains("temperature");
  if (!t) return false;
  if (t->is_int64()) return t->get_int64() == 0;
  if (t->is_uint64()) return t->get_uint64() == 0;
  if (t->is_double()) return t->get_double() == 0.0;
  return false;
}

request_decision decide_request(const route_policy& route, std::string_view method,
                                const request_body& body, const cache_control& client) {
  request_decision d;
  if (!route.enabled) {
    d.reason = bypass_reason::disabled;
    return d;
  }
  if (method != "GET" && method != "POST") {
    d.reason = bypass_reason::method;
    return d;
  }
  if (client.no_store) {
    d.reason = bypass_reason::client_no_store;
    return d;
  }
  if (route.generation == generation_rule::deterministic_only && is_generation_request(body) &&
      !is_deterministic(body)) {
    d.reason = bypass_reason::nondeterministic;
    return d;
  }
  if (client.no_cache || (client.max_age && client.max_age->count() == 0)) {
    d.action = request_action::refresh;
    return d;
  }
  d.action = request_action::lookup;
  if (client.max_age) d.max_age = *client.max_age;
  return d;
}

response_decision decide_response(unsigned status, const cache_control& upstream,
                                  duration route_ttl, std::string_view vary) {
  response_decision d;
  auto refuse = [&](store_reason r) {
    d.reason = r;
    return d;
  };
  if (status != 200) return refuse(store_reason::status);
  if (upstream.no_store) return refuse(store_reason::upstream_no_store);
  if (upstream.private_) return refuse(store_reason::upstream_private);
  if (upstream.no_cache) return refuse(store_reason::upstream_no_cache);
  if (vary_has_star(vary)) return refuse(store_reason::vary_star);
  duration ttl = route_ttl;
  if (upstream.s_maxage) ttl = std::min<duration>(ttl, *upstream.s_maxage);
  else if (upstream.max_age) ttl = std::min<duration>(ttl, *upstream.max_age);
  if (ttl <= duration::zero()) return refuse(store_reason::zero_ttl);
  d.store = true;
  d.ttl = ttl;
  return d;
}

}  // namespace modelgate::cache
