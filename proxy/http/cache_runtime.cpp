#include "proxy/http/cache_runtime.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include <algorithm>

namespace modelgate::proxy {
namespace {

cache::store_settings store_settings_of(const config::cache_store& c) {
  cache::store_settings s;
  s.max_bytes = c.max_bytes;
  s.default_ttl = c.default_ttl;
  s.shards = c.shards;
  s.max_entry_divisor = c.max_entry_divisor;
  return s;
}

cache::route_policy policy_of(const config::route_cache& c) {
  cache::route_policy p;
  p.enabled = c.enabled;
  if (c.ttl) p.ttl = *c.ttl;
  p.scope = c.shared ? cache::key_scope::shared : cache::key_scope::per_api_key;
  p.generation = c.always ? cache::generation_rule::always : cache::generation_rule::deterministic_only;
  p.vary = c.vary;
  return p;
}

// What makes the route distinct (see cache::route_identity): not its name, which may repeat
// across files and proxies sharing the Redis tier.
std::string identity_of(const config::route& r) {
  cache::route_identity id;
  id.path_prefix = r.path_prefix;
  id.path = r.path;
  id.host = r.host;
  if (r.header) {
    id.header_name = r.header->name;
    id.header_value = r.header->value;
  }
  id.models = r.models;
  id.pool = r.pool;
  id.fallback = r.fallback;
  return cache::encode_route_identity(id);
}

}  // namespace

std::shared_ptr<cache_runtime> cache_runtime::make(const config::proxy_config& cfg,
                                                   prometheus::Registry& registry,
                                                   const cache_runtime* previous) {
  bool any = std::any_of(cfg.routes.begin(), cfg.routes.end(),
                         [](const config::route& r) { return r.cache.enabled; });
  if (!any) return nullptr;
  return std::make_shared<cache_runtime>(cfg, registry, previous);
}

namespace {

bool same_store(const config::cache_store& a, const config::cache_store& b) {
  return a.max_bytes == b.max_bytes && a.default_ttl == b.default_ttl && a.shards == b.shards &&
         a.max_entry_divisor == b.max_entry_divisor;
}

}  // namespace

cache_runtime::cache_runtime(const config::proxy_config& cfg, prometheus::Registry& reg,
                             const cache_runtime* previous)
    : store_cfg_(cfg.cache),
      core_(previous && same_store(previous->store_cfg_, cfg.cache)
                ? previous->core_
                : std::make_shared<core>(store_settings_of(cfg.cache))),
      store(core_->store),
      flights(core_->flights),
      coalesce_timeout_(cfg.cache.coalesce_timeout),
      redis_(cfg.cache.redis) {
  using prometheus::BuildCounter;
  using prometheus::BuildGauge;
  auto& hits = BuildCounter().Name("modelgate_cache_hits_total")
                   .Help("Responses served from the cache (coalesced followers included), by route")
                   .Register(reg);
  auto& misses = BuildCounter().Name("modelgate_cache_misses_total")
                     .Help("Cacheable requests forwarded upstream (no entry, or a refresh), by route")
                     .Register(reg);
  auto& bypasses = BuildCounter().Name("modelgate_cache_bypasses_total")
                       .Help("Requests on a caching route that the cache did not handle, by reason")
                       .Register(reg);
  auto& coalesced = BuildCounter().Name("modelgate_cache_coalesced_total")
                        .Help("Requests that waited for an identical in-flight request (single-flight followers)")
                        .Register(reg);
  for (std::size_t i = 0; i < cfg.routes.size(); ++i) {
    const auto& r = cfg.routes[i];
    policies_.push_back(policy_of(r.cache));
    route_names_.push_back(r.name);
    route_identities_.push_back(identity_of(r));
    ignore_stream_no_cache_.push_back(r.cache.ignore_stream_no_cache);
    route_counters c;
    if (r.cache.enabled) {
      c.hits = &hits.Add({{"route", r.name}});
      c.misses = &misses.Add({{"route", r.name}});
      c.coalesced = &coalesced.Add({{"route", r.name}});
      using br = cache::bypass_reason;
      for (auto reason : {br::method, br::client_no_store, br::nondeterministic})
        c.bypasses[static_cast<std::size_t>(reason)] =
            &bypasses.Add({{"route", r.name}, {"reason", std::string(cache::to_string(reason))}});
    }
    counters_.push_back(c);
  }
  stores_ = &BuildCounter().Name("modelgate_cache_stores_total")
                 .Help("Responses recorded and stored in the cache").Register(reg).Add({});
  evictions_ = &BuildCounter().Name("modelgate_cache_evictions_total")
                    .Help("Entries removed to make room (least recently used)").Register(reg).Add({});
  expirations_ = &BuildCounter().Name("modelgate_cache_expirations_total")
                      .Help("Entries removed because their TTL passed").Register(reg).Add({});
  purged_ = &BuildCounter().Name("modelgate_cache_purged_total")
                 .Help("Entries removed by POST /admin/cache/purge").Register(reg).Add({});
  entries_ = &BuildGauge().Name("modelgate_cache_entries").Help("Entries in the cache")
                  .Register(reg).Add({});
  bytes_ = &BuildGauge().Name("modelgate_cache_bytes")
                .Help("Bytes the cache's entries take (bodies, headers, bookkeeping)")
                .Register(reg).Add({});
  max_bytes_ = &BuildGauge().Name("modelgate_cache_max_bytes")
                    .Help("The cache's byte bound (cache.max_bytes)").Register(reg).Add({});
  max_bytes_->Set(static_cast<double>(store.max_bytes()));
  redis_hits_ = &BuildCounter().Name("modelgate_cache_redis_hits_total")
                     .Help("Local misses answered from the shared Redis tier").Register(reg).Add({});
  redis_errors_ = &BuildCounter().Name("modelgate_cache_redis_errors_total")
                       .Help("Redis tier failures (connect, timeout, protocol, error reply); each "
                             "degrades to the local store")
                       .Register(reg).Add({});
}

cache_redis_tier* cache_runtime::redis_tier() {
  if (!redis_) return nullptr;
  // One tier per Redis setting a reload has brought (rarely more than one): a request of an
  // older generation may still be using its tier, so none is ever replaced.
  thread_local std::vector<std::pair<config::cache_redis, std::unique_ptr<cache_redis_tier>>> tiers;
  for (auto& [settings, tier] : tiers)
    if (settings == *redis_) return tier.get();
  tiers.emplace_back(*redis_, std::make_unique<cache_redis_tier>(*redis_, redis_errors_));
  return tiers.back().second.get();
}

std::optional<std::size_t> cache_runtime::purge(std::optional<std::string_view> route) {
  std::size_t n = 0;
  if (!route) {
    n = store.purge_all();
  } else {
    if (std::find(route_names_.begin(), route_names_.end(), *route) == route_names_.end())
      return std::nullopt;
    n = store.purge_route(*route);
  }
  purged_->Increment(static_cast<double>(n));
  return n;
}

void cache_runtime::refresh_metrics() {
  const auto s = store.stats();
  // Counters only go up: add what happened since the last scrape.
  auto sync = [](prometheus::Counter* c, std::uint64_t v) {
    if (auto d = static_cast<double>(v) - c->Value(); d > 0) c->Increment(d);
  };
  sync(evictions_, s.evictions);
  sync(expirations_, s.expirations);
  entries_->Set(static_cast<double>(s.entries));
  bytes_->Set(static_cast<double>(s.bytes));
}

}  // namespace modelgate::proxy
