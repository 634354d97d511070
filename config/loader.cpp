#include "config/loader.hpp"

#include "config/units.hpp"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <fstream>
#include <initializer_list>
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

// Walks the YAML tree; knows the file name and the dotted key path for error messages.
class reader {
 public:
  reader(std::filesystem::path source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const YAML::Node& at, const std::string& key, const std::string& msg) const {
    auto mark = at.Mark();
    int line = mark.line >= 0 ? mark.line + 1 : 0;
    int col = mark.column >= 0 ? mark.column + 1 : 0;
    throw config_error(source_.string(), line, col, key, msg);
  }

  // Rejects keys outside `allowed`, pointing at the key itself.
  void expect_map(const YAML::Node& node, const std::string& where,
                  std::initializer_list<std::string_view> allowed) const {
    if (!node.IsMap()) fail(node, where, "expected a mapping");
    for (const auto& kv : node) {
      auto name = kv.first.as<std::string>();
      bool known = false;
      for (auto a : allowed) known = known || a == name;
      if (!known) {
        std::string list;
        for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        fail(kv.first, join(where, name), "unknown key (expected one of: " + list + ")");
      }
    }
  }

  static std::string join(const std::string& where, std::string_view key) {
    return where.empty() ? std::string(key) : where + "." + std::string(key);
  }

  std::string scalar(const YAML::Node& node, const std::string& key) const {
    if (!node.IsScalar()) fail(node, key, "expected a scalar value");
    return node.Scalar();
  }

  std::string string(const YAML::Node& parent, std::string_view name, const std::string& where,
                     std::optional<std::string> fallback = std::nullopt) const {
    auto key = join(where, name);
    auto node = parent[std::string(name)];
    if (!node) {
      if (fallback) return *fallback;
      fail(parent, key, "missing required key");
    }
    return scalar(node, key);
  }

  template <class Int>
  Int integer(const YAML::Node& parent, std::string_view name, const std::string& where,
              Int fallback, Int min, Int max) const {
    auto key = join(where, name);
    auto node = parent[std::string(name)];
    if (!node) return fallback;
    auto text = scalar(node, key);
    long long value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size())
      fail(node, key, "expected an integer, got '" + text + "'");
    if (value < static_cast<long long>(min) || value > static_cast<long long>(max))
      fail(node, key,
           "must be between " + std::to_string(min) + " and " + std::to_string(max));
    return static_cast<Int>(value);
  }

  duration dur(const YAML::Node& parent, std::string_view name, const std::string& where,
               duration fallback) const {
    auto key = join(where, name);
    auto node = parent[std::string(name)];
    if (!node) return fallback;
    auto text = scalar(node, key);
    auto value = parse_duration(text);
    if (!value) fail(node, key, "expected a duration like 250ms, 10s or 5m, got '" + text + "'");
    if (value->count() <= 0) fail(node, key, "must be greater than zero");
    return *value;
  }

  std::size_t size(const YAML::Node& parent, std::string_view name, const std::string& where,
                   std::size_t fallback) const {
    auto key = join(where, name);
    auto node = parent[std::string(name)];
    if (!node) return fallback;
    auto text = scalar(node, key);
    auto value = parse_size(text);
    if (!value) fail(node, key, "expected a size like 16384, 64KiB or 8MiB, got '" + text + "'");
    if (*value == 0) fail(node, key, "must be greater than zero");
    return static_cast<std::size_t>(*value);
  }

  host_port address(const YAML::Node& parent, const std::string& where, bool allow_port_zero) const {
    auto key = join(where, "address");
    auto text = string(parent, "address", where);
    try {
      return parse_host_port(text, allow_port_zero);
    } catch (const std::invalid_argument& e) {
      fail(parent["address"], key, e.what());
    }
  }

  // A file path relative to the config's folder that must exist and be readable.
  std::filesystem::path file(const YAML::Node& parent, std::string_view name,
                             const std::string& where) const {
    auto key = join(where, name);
    auto text = string(parent, name, where);
    std::filesystem::path p(text);
    if (p.is_relative()) p = source_.parent_path() / p;
    std::ifstream probe(p);
    if (!probe) fail(parent[std::string(name)], key, "cannot read file " + p.string());
    return p;
  }

  const std::filesystem::path& source() const { return source_; }

 private:
  std::filesystem::path source_;
};

listener read_listener(const reader& r, const YAML::Node& n, const std::string& where) {
  r.expect_map(n, where, {"address", "tls"});
  listener l;
  l.address = r.address(n, where, true);
  if (auto tls = n["tls"]) {
    auto w = where + ".tls";
    r.expect_map(tls, w, {"cert", "key"});
    l.tls = server_tls{r.file(tls, "cert", w), r.file(tls, "key", w)};
  }
  return l;
}

limits read_limits(const reader& r, const YAML::Node& n) {
  limits l;
  if (!n) return l;
  const std::string w = "limits";
  r.expect_map(n, w,
               {"max_header_bytes", "max_body_bytes", "header_timeout", "idle_timeout",
                "request_timeout", "max_connections"});
  l.max_header_bytes = r.size(n, "max_header_bytes", w, l.max_header_bytes);
  l.max_body_bytes = r.size(n, "max_body_bytes", w, l.max_body_bytes);
  l.header_timeout = r.dur(n, "header_timeout", w, l.header_timeout);
  l.idle_timeout = r.dur(n, "idle_timeout", w, l.idle_timeout);
  l.request_timeout = r.dur(n, "request_timeout", w, l.request_timeout);
  l.max_connections = r.integer<std::size_t>(n, "max_connections", w, l.max_connections, 1, 10'000'000);
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

backend read_backend(const reader& r, const YAML::Node& n, const std::string& where) {
  r.expect_map(n, where, {"address", "weight", "tls"});
  backend b;
  b.address = r.address(n, where, false);
  b.weight = r.integer<std::uint32_t>(n, "weight", where, 1, 1, 1000);
  if (auto tls = n["tls"]) {
    auto w = where + ".tls";
    r.expect_map(tls, w, {"ca", "server_name", "verify"});
    upstream_tls t;
    if (tls["ca"]) t.ca = r.file(tls, "ca", w);
    t.server_name = r.string(tls, "server_name", w, b.address.host);
    auto verify = r.string(tls, "verify", w, "true");
    if (verify != "true" && verify != "false") r.fail(tls["verify"], w + ".verify", "expected true or false");
    t.verify = verify == "true";
    b.tls = t;
  }
  return b;
}

pool read_pool(const reader& r, const YAML::Node& n, const std::string& where) {
  r.expect_map(n, where,
               {"name", "backends", "connect_timeout", "response_timeout", "idle_timeout",
                "max_idle_per_backend"});
  pool p;
  p.name = r.string(n, "name", where);
  if (p.name.empty()) r.fail(n["name"], where + ".name", "must not be empty");
  auto backends = n["backends"];
  if (!backends) r.fail(n, where + ".backends", "missing required key");
  if (!backends.IsSequence() || backends.size() == 0)
    r.fail(backends, where + ".backends", "expected a non-empty list of backends");
  if (backends.size() > max_backends_per_pool)
    r.fail(backends, where + ".backends",
           "at most " + std::to_string(max_backends_per_pool) + " backends per pool");
  for (std::size_t i = 0; i < backends.size(); ++i)
    p.backends.push_back(read_backend(r, backends[i], where + ".backends[" + std::to_string(i) + "]"));
  p.connect_timeout = r.dur(n, "connect_timeout", where, p.connect_timeout);
  p.response_timeout = r.dur(n, "response_timeout", where, p.response_timeout);
  p.upstream_idle_timeout = r.dur(n, "idle_timeout", where, p.upstream_idle_timeout);
  p.max_idle_per_backend =
      r.integer<std::size_t>(n, "max_idle_per_backend", where, p.max_idle_per_backend, 0, 100'000);
  return p;
}

route read_route(const reader& r, const YAML::Node& n, const std::string& where,
                 const std::vector<pool>& pools) {
  r.expect_map(n, where, {"name", "path_prefix", "pool"});
  route rt;
  rt.path_prefix = r.string(n, "path_prefix", where, "");
  rt.name = r.string(n, "name", where, rt.path_prefix.empty() ? "*" : rt.path_prefix);
  if (!rt.path_prefix.empty() && rt.path_prefix.front() != '/')
    r.fail(n["path_prefix"], where + ".path_prefix", "must start with '/'");
  rt.pool = r.string(n, "pool", where);
  bool found = false;
  for (std::size_t i = 0; i < pools.size() && !found; ++i) {
    if (pools[i].name == rt.pool) {
      rt.pool_index = i;
      found = true;
    }
  }
  if (!found) r.fail(n["pool"], where + ".pool", "no pool named '" + rt.pool + "'");
  return rt;
}

proxy_config read_root(const reader& r, const YAML::Node& root) {
  if (!root || root.IsNull()) r.fail(root, "", "the file is empty");
  r.expect_map(root, "",
               {"workers", "listeners", "admin", "limits", "access_log", "drain_timeout", "pools",
                "routes"});
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

  auto pools = root["pools"];
  if (!pools) r.fail(root, "pools", "missing required key");
  if (!pools.IsSequence() || pools.size() == 0) r.fail(pools, "pools", "expected a non-empty list of pools");
  std::set<std::string> names;
  for (std::size_t i = 0; i < pools.size(); ++i) {
    auto where = "pools[" + std::to_string(i) + "]";
    c.pools.push_back(read_pool(r, pools[i], where));
    if (!names.insert(c.pools.back().name).second)
      r.fail(pools[i]["name"], where + ".name", "duplicate pool name '" + c.pools.back().name + "'");
  }

  auto routes = root["routes"];
  if (!routes) r.fail(root, "routes", "missing required key");
  if (!routes.IsSequence() || routes.size() == 0)
    r.fail(routes, "routes", "expected a non-empty list of routes");
  for (std::size_t i = 0; i < routes.size(); ++i)
    c.routes.push_back(read_route(r, routes[i], "routes[" + std::to_string(i) + "]", c.pools));
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
