#include "config/loader.hpp"

#include "config/auth_loader.hpp"
#include "config/cache_loader.hpp"
#include "config/pool_loader.hpp"
#include "config/yaml_reader.hpp"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <fstream>
#include <initializer_list>
#include <map>
#include <set>
#include <sstream>
#include <thread>

namespace modelgate::config {

config_error::config_error(std::string file, int line, int column, std::string key,
                           const std::string& message)
    : std::runtime_error(file + ":" + std::to_string(line) + ":" + std::to_string(column) +
                         ": " + (key.empty() ? std::string() : "key '" + key + "': ") + message),
      file_(std::move(file)),
      line_(line),
      column_(column),
      key_(std::move(key)) {}

std::string host_port::str() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

std::string backend::label() const {
  if (managed) return "replica#" + std::to_string(slot);
  return slots == 0 ? address.str() : address.str() + "#" + std::to_string(slot);
}

host_port parse_host_port(std::string_view text, bool allow_port_zero) {
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      throw std::invalid_argument("expected [ipv6]:port");
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) throw std::invalid_argument("expected host:port");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (host.empty()) throw std::invalid_argument("empty host in '" + std::string(text) + "'");
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc{} || end != port.data() + port.size() || value > 65535 ||
      (value == 0 && !allow_port_zero))
    throw std::invalid_argument("bad port in '" + std::string(text) + "'");
  return host_port{std::string(host), static_cast<std::uint16_t>(value)};
}

namespace {

using detail::reader;

listener read_listener(const reader& r, const YAML::Node& n, const std::string& where) {
  r.expect_map(n, where, {"address", "tls", "allow_cidrs"});
  listener l;
  l.address = r.address(n, where, true);
  if (auto tls = n["tls"]) {
    auto w = where + ".tls";
    r.expect_map(tls, w, {"cert", "key", "client_ca", "require_client_cert"});
    server_tls t;
    t.cert = r.file(tls, "cert", w);
    t.key = r.file(tls, "key", w);
    const bool has_ca = static_cast<bool>(tls["client_ca"]);
    if (has_ca) t.client_ca = r.file(tls, "client_ca", w);
    t.require_client_cert = r.boolean(tls, "require_client_cert", w, has_ca);
    if (t.require_client_cert && !has_ca)
      r.fail(tls["require_client_cert"], w + ".require_client_cert",
             "needs tls.client_ca to verify client certificates against");
    l.tls = std::move(t);
  }
  l.allow_cidrs = detail::read_allow_cidrs(r, n, where);
  return l;
}

limits read_limits(const reader& r, const YAML::Node& n) {
  limits l;
  if (!n) return l;
  const std::string w = "limits";
  r.expect_map(n, w,
               {"max_header_bytes", "max_body_bytes", "header_timeout", "idle_timeout",
                "request_timeout", "body_timeout", "min_body_rate", "max_connections",
                "max_connections_per_ip"});
  l.max_header_bytes = r.size(n, "max_header_bytes", w, l.max_header_bytes);
  l.max_body_bytes = r.size(n, "max_body_bytes", w, l.max_body_bytes);
  l.header_timeout = r.dur(n, "header_timeout", w, l.header_timeout);
  l.idle_timeout = r.dur(n, "idle_timeout", w, l.idle_timeout);
  l.request_timeout = r.dur(n, "request_timeout", w, l.request_timeout);
  l.body_timeout = r.dur(n, "body_timeout", w, l.body_timeout);
  l.min_body_rate = r.size(n, "min_body_rate", w, l.min_body_rate);
  l.max_connections = r.integer<std::size_t>(n, "max_connections", w, l.max_connections, 1, 10'000'000);
  l.max_connections_per_ip = r.integer<std::size_t>(n, "max_connections_per_ip", w,
                                                    l.max_connections_per_ip, 0, 10'000'000);
  return l;
}

access_log read_access_log(const reader& r, const YAML::Node& n) {
  access_log a;
  if (!n) return a;
  r.expect_map(n, "access_log", {"path"});
  auto path = r.string(n, "path", "access_log");
  if (path == "stdout") a.kind = access_log::target::stdout_stream;
  else if (path == "stderr") a.kind = access_log::target::stderr_stream;
  else if (path == "off" || path.empty()) a.kind = access_log::target::off;
  else {
    a.kind = access_log::target::file;
    a.path = path;
    if (a.path.is_relative()) a.path = r.source().parent_path() / a.path;
  }
  return a;
}

// Routes without `name:` are named after their path or prefix, which may repeat (one prefix
// split by a header, say). A repeat gets "#2", "#3", ... (the first free one, explicit names
// included), so every route has its own name and files that loaded before still load.
void unique_default_names(const YAML::Node& nodes, std::vector<route>& routes,
                          const std::map<std::string, std::size_t>& named) {
  std::set<std::string> taken;
  for (const auto& [name, index] : named) taken.insert(name);
  for (std::size_t i = 0; i < routes.size(); ++i) {
    if (nodes[i]["name"]) continue;
    auto& name = routes[i].name;
    const std::string base = name;
    for (unsigned n = 2; taken.count(name); ++n) name = base + "#" + std::to_string(n);
    taken.insert(name);
  }
}

proxy_config read_root(const reader& r, const YAML::Node& root) {
  if (!root || root.IsNull()) r.fail(root, "", "the file is empty");
  r.expect_map(root, "",
               {"workers", "listeners", "admin", "limits", "access_log", "drain_timeout", "pools",
                "routes", "trusted_proxies", "auth", "quota_store", "cache"});
  proxy_config c;
  c.source = r.source();
  unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  c.workers = r.integer<unsigned>(root, "workers", "", hw, 1, 256);

  auto listeners = root["listeners"];
  if (!listeners) r.fail(root, "listeners", "missing required key");
  if (!listeners.IsSequence() || listeners.size() == 0)
    r.fail(listeners, "listeners", "expected a non-empty list of listeners");
  for (std::size_t i = 0; i < listeners.size(); ++i)
    c.listeners.push_back(read_listener(r, listeners[i], "listeners[" + std::to_string(i) + "]"));

  if (auto admin_node = root["admin"]) {
    r.expect_map(admin_node, "admin", {"address"});
    c.admin_listener = admin{r.address(admin_node, "admin", true)};
  }
  c.limit = read_limits(r, root["limits"]);
  c.log = read_access_log(r, root["access_log"]);
  c.drain_timeout = r.dur(root, "drain_timeout", "", c.drain_timeout);
  c.cache = detail::read_cache_store(r, root["cache"]);

  auto pools = root["pools"];
  if (!pools) r.fail(root, "pools", "missing required key");
  if (!pools.IsSequence() || pools.size() == 0) r.fail(pools, "pools", "expected a non-empty list of pools");
  std::set<std::string> names;
  for (std::size_t i = 0; i < pools.size(); ++i) {
    auto where = "pools[" + std::to_string(i) + "]";
    c.pools.push_back(detail::read_pool(r, pools[i], where));
    if (!names.insert(c.pools.back().name).second)
      r.fail(pools[i]["name"], where + ".name", "duplicate pool name '" + c.pools.back().name + "'");
  }

  auto routes = root["routes"];
  if (!routes) r.fail(root, "routes", "missing required key");
  if (!routes.IsSequence() || routes.size() == 0)
    r.fail(routes, "routes", "expected a non-empty list of routes");
  std::map<std::string, std::size_t> named;  // explicit route name → its index
  for (std::size_t i = 0; i < routes.size(); ++i) {
    auto where = "routes[" + std::to_string(i) + "]";
    c.routes.push_back(detail::read_route(r, routes[i], where, c.pools));
    c.routes.back().cache = detail::read_route_cache(r, routes[i]["cache"], where + ".cache");
    if (!routes[i]["name"]) continue;
    // A name labels metrics and log lines and selects a cache purge: it must say which route.
    auto [at, fresh] = named.emplace(c.routes.back().name, i);
    if (!fresh)
      r.fail(routes[i]["name"], where + ".name",
             "duplicate route name '" + c.routes.back().name + "' (routes[" +
                 std::to_string(at->second) + "] has it too)");
  }
  c.trusted_proxies = detail::read_cidr_list(r, root["trusted_proxies"], "trusted_proxies");
  unique_default_names(routes, c.routes, named);
  c.auth = detail::read_auth(r, root["auth"]);
  c.quota_store = detail::read_quota_store(r, root["quota_store"]);
  return c;
}

}  // namespace

proxy_config load_config_text(std::string_view yaml, const std::filesystem::path& source) {
  reader r(source);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    throw config_error(source.string(), e.mark.line + 1, e.mark.column + 1, "", e.msg);
  }
  try {
    return read_root(r, root);
  } catch (const YAML::Exception& e) {
    // Type conversion errors inside yaml-cpp carry their own mark.
    throw config_error(source.string(), e.mark.line + 1, e.mark.column + 1, "", e.msg);
  }
}

proxy_config load_config(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw config_error(path.string(), 0, 0, "", "cannot open the file");
  std::stringstream text;
  text << in.rdbuf();
  auto absolute = std::filesystem::absolute(path);
  return load_config_text(text.str(), absolute);
}

}  // namespace modelgate::config
