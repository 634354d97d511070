#include "tests/bench/routing/systems.hpp"

#include "tests/support/http_client.hpp"
#include "tests/support/ports.hpp"

#include <chrono>
#include <stdexcept>
#include <thread>

namespace modelgate::bench {
namespace ts = test_support;
namespace {

std::string modelgate_yaml(const system_spec& spec, unsigned workers,
                           const std::vector<std::uint16_t>& ports) {
  std::string y = "workers: " + std::to_string(workers) + "\n";
  y += "listeners:\n  - address: 127.0.0.1:0\n";
  y += "admin: { address: 127.0.0.1:0 }\n";
  y += "access_log: { path: off }\n";
  y += "pools:\n  - name: sim\n    backends:\n";
  for (auto p : ports) y += "      - { address: 127.0.0.1:" + std::to_string(p) + " }\n";
  y += "    response_timeout: 60s\n";
  y += "    max_idle_per_backend: 1024\n";
  y += spec.settings;
  y += "routes:\n  - { path_prefix: /, pool: sim }\n";
  return y;
}

std::string haproxy_cfg(const system_spec& spec, unsigned threads, std::uint16_t port,
                        const std::vector<std::uint16_t>& ports) {
  std::string c;
  c += "global\n  nbthread " + std::to_string(threads) + "\n  maxconn 5000\n";
  c += "defaults\n  mode http\n  timeout connect 2s\n  timeout client 60s\n  timeout server 60s\n";
  c += "  http-reuse always\n";
  c += "frontend in\n  bind 127.0.0.1:" + std::to_string(port) + "\n  default_backend sim\n";
  c += "backend sim\n" + spec.settings;
  for (std::size_t i = 0; i < ports.size(); ++i)
    c += "  server b" + std::to_string(i) + " 127.0.0.1:" + std::to_string(ports[i]) + "\n";
  return c;
}

}  // namespace

running_system::running_system(const system_spec& spec, const system_paths& paths,
                               const std::vector<std::uint16_t>& ports, const ts::temp_dir& dir) {
  if (spec.what == system_spec::kind::modelgate) {
    modelgate_ = std::make_unique<ts::proxy_process>(paths.modelgate, dir,
                                                     modelgate_yaml(spec, paths.workers, ports));
    port_ = modelgate_->listener_port(0);
    return;
  }
  port_ = ts::unused_port();
  auto cfg = dir.write("haproxy.cfg", haproxy_cfg(spec, paths.workers, port_, ports));
  haproxy_.emplace(std::vector<std::string>{paths.haproxy.string(), "-db", "-f", cfg.string()},
                   ts::child_io{{}, dir.file("haproxy.out"), dir.file("haproxy.err")});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (ts::http_client::try_connect(port_)) {
    if (!haproxy_->running() || std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("haproxy did not start:\n" + ts::read_file(dir.file("haproxy.err")));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

running_system::~running_system() {
  if (haproxy_) haproxy_->kill();
}

std::vector<system_spec> default_systems(bool with_haproxy) {
  using k = system_spec::kind;
  const std::string hash = "    policy: consistent_hash\n    hash_key: \"header:x-session-id\"\n";
  std::vector<system_spec> s = {
      {"modelgate round_robin", k::modelgate, "    policy: round_robin\n"},
      {"modelgate least_queue", k::modelgate, "    policy: least_queue\n"},
      {"modelgate least_queue + ORCA header", k::modelgate,
       "    policy: least_queue\n    load_report: { header: endpoint-load-metrics }\n"},
      {"modelgate consistent_hash, bounded_load 1.25", k::modelgate, hash + "    bounded_load: 1.25\n"},
      {"modelgate consistent_hash, unbounded (100)", k::modelgate, hash + "    bounded_load: 100\n"},
  };
  if (with_haproxy) {
    s.push_back({"HAProxy roundrobin", k::haproxy, "  balance roundrobin\n"});
    s.push_back({"HAProxy leastconn", k::haproxy, "  balance leastconn\n"});
    s.push_back({"HAProxy hdr(x-session-id) consistent, balance-factor 125", k::haproxy,
                 "  balance hdr(x-session-id)\n  hash-type consistent\n  hash-balance-factor 125\n"});
  }
  return s;
}

}  // namespace modelgate::bench
