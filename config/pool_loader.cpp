#include "config/pool_loader.hpp"

#include <arpa/inet.h>

#include <algorithm>

namespace modelgate::config::detail {
namespace {

constexpr std::uint16_t default_max_addresses = 8;

bool is_ip_literal(const std::string& host) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1 || ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

backend read_backend(const reader& r, const YAML::Node& n, const std::string& where) {
  r.expect_map(n, where, {"address", "weight", "tls", "max_addresses"});
  backend b;
  b.address = r.address(n, where, false);
  b.weight = r.integer<std::uint32_t>(n, "weight", where, 1, 1, 1000);
  if (!is_ip_literal(b.address.host))
    b.slots = r.integer<std::uint16_t>(n, "max_addresses", where, default_max_addresses, 1, 256);
  else if (n["max_addresses"])
    r.fail(n["max_addresses"], where + ".max_addresses", "only for a backend given by DNS name");
  if (auto tls = n["tls"]) {
    auto w = where + ".tls";
    r.expect_map(tls, w, {"ca", "server_name", "verify"});
    upstream_tls t;
    if (tls["ca"]) t.ca = r.file(tls, "ca", w);
    t.server_name = r.string(tls, "server_name", w, b.address.host);
    t.verify = r.boolean(tls, "verify", w, true);
    b.tls = t;
  }
  return b;
}

hash_key read_hash_key(const reader& r, const YAML::Node& n, const std::string& key) {
  auto text = r.scalar(n, key);
  auto colon = text.find(':');
  auto kind = text.substr(0, colon);
  auto arg = colon == std::string::npos ? std::string() : text.substr(colon + 1);
  hash_key k;
  using s = hash_key::source;
  auto need_arg = [&](const char* what) {
    if (arg.empty()) r.fail(n, key, std::string("'") + kind + "' needs " + what + ", e.g. " + kind + ":" +
                                        (kind == "prompt_prefix" ? "64" : "x-session-id"));
  };
  if (kind == "header") { need_arg("a header name"); k.from = s::header; k.name = arg; }
  else if (kind == "cookie") { need_arg("a cookie name"); k.from = s::cookie; k.name = arg; }
  else if (kind == "json") { need_arg("a field name"); k.from = s::json_field; k.name = arg; }
  else if (kind == "prompt_prefix") {
    need_arg("a byte count");
    k.from = s::prompt_prefix;
    try {
      k.length = std::stoul(arg);
    } catch (const std::exception&) {
      r.fail(n, key, "prompt_prefix length must be a number, got '" + arg + "'");
    }
    if (k.length == 0 || k.length > 1'000'000) r.fail(n, key, "prompt_prefix length must be 1..1000000");
  } else if (kind == "api_key" && arg.empty()) k.from = s::api_key;
  else if (kind == "client_ip" && arg.empty()) k.from = s::client_ip;
  else
    r.fail(n, key, "expected header:NAME, cookie:NAME, json:FIELD, prompt_prefix:N, api_key or client_ip, got '" + text + "'");
  return k;
}

load_report read_load_report(const reader& r, const YAML::Node& n, const std::string& where) {
  load_report lr;
  r.expect_map(n, where, {"header", "scrape", "max_age"});
  lr.header = r.string(n, "header", where, "");
  if (auto sc = n["scrape"]) {
    auto w = where + ".scrape";
    r.expect_map(sc, w, {"path", "metric", "interval"});
    scrape_report s;
    s.path = r.string(sc, "path", w, s.path);
    if (s.path.empty() || s.path.front() != '/') r.fail(sc["path"], w + ".path", "must start with '/'");
    s.metric = r.string(sc, "metric", w);
    s.interval = r.dur(sc, "interval", w, s.interval);
    lr.scrape = s;
  }
  lr.max_age = r.dur(n, "max_age", where, lr.max_age);
  return lr;
}

health_check read_health(const reader& r, const YAML::Node& n, const std::string& where) {
  r.expect_map(n, where, {"path", "interval", "timeout", "expect_status", "unhealthy_after", "healthy_after"});
  health_check h;
  h.path = r.string(n, "path", where, h.path);
  if (h.path.empty() || h.path.front() != '/') r.fail(n["path"], where + ".path", "must start with '/'");
  h.interval = r.dur(n, "interval", where, h.interval);
  h.timeout = r.dur(n, "timeout", where, h.timeout);
  h.expect_status = r.integer<unsigned>(n, "expect_status", where, h.expect_status, 100, 599);
  h.unhealthy_after = r.integer<unsigned>(n, "unhealthy_after", where, h.unhealthy_after, 1, 100);
  h.healthy_after = r.integer<unsigned>(n, "healthy_after", where, h.healthy_after, 1, 100);
  return h;
}

outlier_detection read_outliers(const reader& r, const YAML::Node& n, const std::string& where) {
  r.expect_map(n, where, {"consecutive_failures", "base_ejection", "max_ejected_share"});
  outlier_detection o;
  o.consecutive_failures = r.integer<unsigned>(n, "consecutive_failures", where, o.consecutive_failures, 0, 1000);
  o.base_ejection = r.dur(n, "base_ejection", where, o.base_ejection);
  o.max_ejected_share = r.real(n, "max_ejected_share", where, o.max_ejected_share, 0, 1);
  return o;
}

retry_policy read_retries(const reader& r, const YAML::Node& n, const std::string& where) {
  r.expect_map(n, where, {"attempts", "on", "backoff_base", "backoff_max", "budget"});
  retry_policy p;
  p.attempts = r.integer<unsigned>(n, "attempts", where, p.attempts, 1, 10);
  if (n["on"]) {
    p.on_connect_failure = false;
    auto list = r.strings(n, "on", where);
    for (std::size_t i = 0; i < list.size(); ++i) {
      const auto& v = list[i];
      if (v == "connect_failure") p.on_connect_failure = true;
      else if (v == "reset") p.on_reset = true;
      else if (v.size() == 3 && std::all_of(v.begin(), v.end(), ::isdigit) && (v[0] == '4' || v[0] == '5'))
        p.statuses.push_back(static_cast<unsigned>(std::stoul(v)));
      else
        r.fail(n["on"], where + ".on[" + std::to_string(i) + "]",
               "expected connect_failure, reset or a 4xx/5xx status, got '" + v + "'");
    }
  }
  p.backoff_base = r.dur(n, "backoff_base", where, p.backoff_base);
  p.backoff_max = r.dur(n, "backoff_max", where, p.backoff_max);
  p.budget = r.real(n, "budget", where, p.budget, 0, 1);
  return p;
}

managed_pool read_managed(const reader& r, const YAML::Node& n, const std::string& where) {
  r.expect_map(n, where,
               {"command", "workdir", "host", "listen_fds", "min_replicas", "max_replicas", "target_queue_depth",
                "scale_up_cooldown", "scale_down_cooldown", "scale_window", "ready_path", "ready_timeout",
                "drain_timeout", "stop_timeout", "restart_backoff_max"});
  managed_pool m;
  auto command = n["command"];
  if (!command) r.fail(n, where + ".command", "missing required key");
  if (!command.IsSequence() || command.size() == 0)
    r.fail(command, where + ".command", "expected a non-empty list of strings (the program and its arguments)");
  m.command = r.strings(n, "command", where);
  if (m.command[0].empty()) r.fail(command[0], where + ".command[0]", "the program must not be empty");

  auto base = std::filesystem::absolute(r.source()).parent_path();
  m.workdir = base;
  if (n["workdir"]) {
    std::filesystem::path dir = r.string(n, "workdir", where);
    if (dir.empty()) r.fail(n["workdir"], where + ".workdir", "must not be empty");
    if (dir.is_relative()) dir = base / dir;
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec))
      r.fail(n["workdir"], where + ".workdir", "not a directory: " + dir.string());
    m.workdir = dir.lexically_normal();
  }
  m.host = r.string(n, "host", where, m.host);
  if (!is_ip_literal(m.host))
    r.fail(n["host"], where + ".host", "must be an IP address (replicas listen on it), got '" + m.host + "'");
  // Programs that take LISTEN_FDS get their socket; others would find their port taken by it.
  m.listen_fds = r.boolean(n, "listen_fds", where,
                           std::filesystem::path(m.command[0]).filename() == "modelgate-backend");

  m.max_replicas = r.integer<unsigned>(n, "max_replicas", where, m.max_replicas, 1, max_managed_replicas);
  m.min_replicas = r.integer<unsigned>(n, "min_replicas", where, m.min_replicas, 0, max_managed_replicas);
  if (m.min_replicas > m.max_replicas)
    r.fail(n["min_replicas"], where + ".min_replicas",
           "must not exceed max_replicas (" + std::to_string(m.max_replicas) + ")");
  m.target_queue_depth = r.real(n, "target_queue_depth", where, m.target_queue_depth, 0, 1e6);
  if (!(m.target_queue_depth > 0))
    r.fail(n["target_queue_depth"], where + ".target_queue_depth", "must be greater than zero");
  m.scale_up_cooldown = r.dur(n, "scale_up_cooldown", where, m.scale_up_cooldown);
  m.scale_down_cooldown = r.dur(n, "scale_down_cooldown", where, m.scale_down_cooldown);
  m.scale_window = r.dur(n, "scale_window", where, m.scale_window);
  m.ready_path = r.string(n, "ready_path", where, m.ready_path);
  if (m.ready_path.empty() || m.ready_path.front() != '/')
    r.fail(n["ready_path"], where + ".ready_path", "must start with '/'");
  m.ready_timeout = r.dur(n, "ready_timeout", where, m.ready_timeout);
  m.drain_timeout = r.dur(n, "drain_timeout", where, m.drain_timeout);
  m.stop_timeout = r.dur(n, "stop_timeout", where, m.stop_timeout);
  m.restart_backoff_max = r.dur(n, "restart_backoff_max", where, m.restart_backoff_max);
  return m;
}

// A managed pool's backends are its replica slots: {host, port 0}, ports assigned at run time.
std::vector<backend> replica_slots(const managed_pool& m) {
  std::vector<backend> out(m.max_replicas);
  for (unsigned i = 0; i < m.max_replicas; ++i) {
    out[i].address = host_port{m.host, 0};
    out[i].slot = static_cast<std::uint16_t>(i);
    out[i].slots = static_cast<std::uint16_t>(m.max_replicas);
    out[i].managed = true;
  }
  return out;
}

// `backends`, or for a managed pool the replica slots it stands for.
void read_backends(const reader& r, const YAML::Node& n, const std::string& where, pool& p) {
  auto backends = n["backends"];
  if (auto managed = n["managed"]) {
    if (backends)
      r.fail(backends, where + ".backends",
             "a managed pool's backends are the replicas it starts; remove 'backends' or 'managed'");
    p.managed = read_managed(r, managed, where + ".managed");
    p.backends = replica_slots(*p.managed);
    return;
  }
  if (!backends) r.fail(n, where + ".backends", "missing required key");
  if (!backends.IsSequence() || backends.size() == 0)
    r.fail(backends, where + ".backends", "expected a non-empty list of backends");
  if (backends.size() > max_backends_per_pool)
    r.fail(backends, where + ".backends",
           "at most " + std::to_string(max_backends_per_pool) + " backends per pool");
  for (std::size_t i = 0; i < backends.size(); ++i) {
    auto b = read_backend(r, backends[i], where + ".backends[" + std::to_string(i) + "]");
    // A DNS name stands for up to `slots` backends, filled by resolution at run time.
    for (std::uint16_t s = 0; s < std::max<std::uint16_t>(b.slots, 1); ++s) {
      b.slot = s;
      p.backends.push_back(b);
    }
  }
  if (p.backends.size() > max_backends_per_pool)
    r.fail(backends, where + ".backends",
           "at most " + std::to_string(max_backends_per_pool) +
               " backends per pool, counting each of max_addresses of a DNS name");
}

std::optional<std::size_t> pool_index(const std::vector<pool>& pools, const std::string& name) {
  for (std::size_t i = 0; i < pools.size(); ++i)
    if (pools[i].name == name) return i;
  return std::nullopt;
}

}  // namespace

pool read_pool(const reader& r, const YAML::Node& n, const std::string& where) {
  r.expect_map(n, where,
               {"name", "backends", "connect_timeout", "response_timeout", "idle_timeout",
                "max_idle_per_backend", "dns_refresh", "policy", "hash_key", "bounded_load", "load_report",
                "health", "outlier_detection", "retries", "max_inflight_per_backend", "panic", "managed"});
  pool p;
  p.name = r.string(n, "name", where);
  if (p.name.empty()) r.fail(n["name"], where + ".name", "must not be empty");
  read_backends(r, n, where, p);
  p.connect_timeout = r.dur(n, "connect_timeout", where, p.connect_timeout);
  p.response_timeout = r.dur(n, "response_timeout", where, p.response_timeout);
  p.upstream_idle_timeout = r.dur(n, "idle_timeout", where, p.upstream_idle_timeout);
  p.dns_refresh = r.dur(n, "dns_refresh", where, p.dns_refresh);
  p.max_idle_per_backend =
      r.integer<std::size_t>(n, "max_idle_per_backend", where, p.max_idle_per_backend, 0, 100'000);

  auto policy = r.string(n, "policy", where, "round_robin");
  if (policy == "round_robin") p.policy = balance_policy::round_robin;
  else if (policy == "consistent_hash") p.policy = balance_policy::consistent_hash;
  else if (policy == "least_queue") p.policy = balance_policy::least_queue;
  else r.fail(n["policy"], where + ".policy", "expected round_robin, consistent_hash or least_queue, got '" + policy + "'");
  if (auto k = n["hash_key"]) p.key = read_hash_key(r, k, where + ".hash_key");
  if (p.policy == balance_policy::consistent_hash && p.key.from == hash_key::source::none)
    r.fail(n, where + ".hash_key", "consistent_hash needs a hash_key");
  p.bounded_load = r.real(n, "bounded_load", where, p.bounded_load, 1.0, 100.0);
  if (auto lr = n["load_report"]) p.report = read_load_report(r, lr, where + ".load_report");
  if (auto h = n["health"]) p.health = read_health(r, h, where + ".health");
  if (auto o = n["outlier_detection"]) p.outliers = read_outliers(r, o, where + ".outlier_detection");
  if (auto rt = n["retries"]) p.retries = read_retries(r, rt, where + ".retries");
  p.max_inflight_per_backend =
      r.integer<std::size_t>(n, "max_inflight_per_backend", where, 0, 0, 1'000'000);
  p.panic = r.boolean(n, "panic", where, p.panic);
  return p;
}

route read_route(const reader& r, const YAML::Node& n, const std::string& where,
                 const std::vector<pool>& pools) {
  r.expect_map(n, where, {"name", "path_prefix", "path", "host", "header", "model", "pool", "fallback",
                         "public", "on_client_close", "cache"});  // cache: read by cache_loader.cpp
  route rt;
  const auto on_close = r.string(n, "on_client_close", where, "abort");
  if (on_close != "abort" && on_close != "finish")
    r.fail(n["on_client_close"], where + ".on_client_close", "expected abort or finish, got '" + on_close + "'");
  rt.half_close_aborts = on_close == "abort";
  rt.path_prefix = r.string(n, "path_prefix", where, "");
  rt.is_public = r.boolean(n, "public", where, false);
  if (!rt.path_prefix.empty() && rt.path_prefix.front() != '/')
    r.fail(n["path_prefix"], where + ".path_prefix", "must start with '/'");
  rt.path = r.string(n, "path", where, "");
  if (!rt.path.empty() && rt.path.front() != '/') r.fail(n["path"], where + ".path", "must start with '/'");
  rt.host = r.string(n, "host", where, "");
  if (auto h = n["header"]) {
    auto w = where + ".header";
    r.expect_map(h, w, {"name", "value"});
    rt.header = header_match{r.string(h, "name", w), r.string(h, "value", w, "")};
  }
  rt.models = r.strings(n, "model", where);
  rt.name = r.string(n, "name", where,
                     !rt.path.empty() ? rt.path : rt.path_prefix.empty() ? "*" : rt.path_prefix);
  rt.pool = r.string(n, "pool", where);
  auto idx = pool_index(pools, rt.pool);
  if (!idx) r.fail(n["pool"], where + ".pool", "no pool named '" + rt.pool + "'");
  rt.pool_index = *idx;
  if (n["fallback"]) {
    rt.fallback = r.string(n, "fallback", where);
    rt.fallback_index = pool_index(pools, rt.fallback);
    if (!rt.fallback_index) r.fail(n["fallback"], where + ".fallback", "no pool named '" + rt.fallback + "'");
  }
  return rt;
}

}  // namespace modelgate::config::detail
