// Routing-quality benchmark (issue 8, scenario 3): four simulated model servers, one 3x slower,
// requests of mixed cost arriving open-loop (Poisson) near saturation, sent through modelgate
// with each balancing policy and through HAProxy. Prints a markdown table: throughput,
// p50/p90/p99, share on the slow backend, load spread and cache affinity. Results: docs/routing.md.
//
//   modelgate_routing_bench --proxy build/proxy/modelgate [--quick] [--rate R] [--duration S]
//                           [--no-haproxy] [--only NAME] [--backend-port P]

#include "tests/bench/routing/open_loop.hpp"
#include "tests/bench/routing/sim_backend.hpp"
#include "tests/bench/routing/systems.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>

namespace {
namespace mb = modelgate::bench;

struct settings {
  double rate = 400;       // requests per second offered
  double duration = 10;    // seconds of arrivals per system
  double warmup = 1;       // seconds of arrivals not counted in latency and spread
  unsigned slots = 4;      // concurrent requests per backend
  double slow = 3;         // slowdown of backend b3
  unsigned sessions = 1000;
  double zipf = 0.9;
  std::uint64_t seed = 42;
  unsigned timeout_s = 10;
  // Backends listen on base_port + i: modelgate's ring places backends by address, so fixed
  // ports give the same key owners in every run (0: ephemeral ports, owners vary by run).
  std::uint16_t base_port = 39410;
};

// Request cost mix (ms of service on a fast backend): mostly short, a heavy tail.
struct cost_class {
  unsigned ms;
  double share;
};
constexpr cost_class cost_mix[] = {{10, 0.6}, {30, 0.3}, {120, 0.1}};

double mean_cost_ms() {
  double m = 0;
  for (auto c : cost_mix) m += c.ms * c.share;
  return m;
}

std::vector<mb::planned_request> make_plan(const settings& s) {
  std::mt19937_64 rng(s.seed);
  std::exponential_distribution<double> gap(s.rate);
  std::vector<double> cost_w, key_w;
  for (auto c : cost_mix) cost_w.push_back(c.share);
  for (unsigned k = 1; k <= s.sessions; ++k) key_w.push_back(1.0 / std::pow(k, s.zipf));
  std::discrete_distribution<std::size_t> cost(cost_w.begin(), cost_w.end());
  std::discrete_distribution<std::size_t> key(key_w.begin(), key_w.end());
  std::vector<mb::planned_request> plan;
  double t = 0;
  for (;;) {
    t += gap(rng);
    if (t >= s.duration) break;
    plan.push_back({std::chrono::microseconds(static_cast<std::int64_t>(t * 1e6)),
                    cost_mix[cost(rng)].ms, "session-" + std::to_string(key(rng))});
  }
  return plan;
}

struct row {
  std::string name;
  std::size_t measured = 0, ok = 0;
  double throughput = 0, p50_ms = 0, p90_ms = 0, p99_ms = 0;
  double slow_share = 0, spread = 0;
  std::optional<double> affinity;
  std::vector<std::size_t> per_backend;
};

row summarise(const std::string& name, const std::vector<mb::planned_request>& plan,
              const std::vector<mb::request_outcome>& out, const settings& s) {
  row r;
  r.name = name;
  r.per_backend.assign(4, 0);
  const auto warm = std::chrono::microseconds(static_cast<std::int64_t>(s.warmup * 1e6));
  std::vector<double> lat;  // ms; failures count as +inf
  std::chrono::microseconds last{};
  for (std::size_t i = 0; i < plan.size(); ++i) {
    if (plan[i].at < warm) continue;
    const auto& o = out[i];
    ++r.measured;
    if (o.status != 200) {
      lat.push_back(INFINITY);
      continue;
    }
    ++r.ok;
    last = std::max(last, o.done);
    lat.push_back(o.latency.count() / 1e3);
    if (o.backend.size() == 2 && o.backend[0] == 'b' && o.backend[1] >= '0' && o.backend[1] <= '3')
      ++r.per_backend[static_cast<std::size_t>(o.backend[1] - '0')];
  }
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double q) {
    if (lat.empty()) return 0.0;
    return lat[std::min(lat.size() - 1, static_cast<std::size_t>(q * static_cast<double>(lat.size())))];
  };
  r.p50_ms = pct(0.50);
  r.p90_ms = pct(0.90);
  r.p99_ms = pct(0.99);
  auto window = std::chrono::duration<double>(last - warm).count();
  r.throughput = window > 0 ? r.ok / window : 0;
  std::size_t total = 0, most = 0;
  for (auto n : r.per_backend) total += n, most = std::max(most, n);
  r.slow_share = total ? static_cast<double>(r.per_backend[3]) / total : 0;
  r.spread = total ? most / (total / 4.0) : 0;
  // Affinity: in completion order, did a request land where its key's previous request did?
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < out.size(); ++i)
    if (out[i].status == 200) order.push_back(i);
  std::sort(order.begin(), order.end(), [&](auto a, auto b) { return out[a].done < out[b].done; });
  std::unordered_map<std::string, std::string> owner;
  std::size_t seen = 0, same = 0;
  for (auto i : order) {
    auto [it, fresh] = owner.try_emplace(plan[i].key, out[i].backend);
    if (!fresh) {
      if (plan[i].at >= warm) {
        ++seen;
        same += it->second == out[i].backend;
      }
      it->second = out[i].backend;
    }
  }
  if (seen) r.affinity = static_cast<double>(same) / seen;
  return r;
}

row run_one(const mb::system_spec& spec, const mb::system_paths& paths,
            const std::vector<mb::planned_request>& plan, const settings& s) {
  boost::asio::io_context io{1};
  std::vector<std::unique_ptr<mb::sim_backend>> backends;
  std::vector<std::uint16_t> ports;
  auto open_backends = [&](std::uint16_t base) {
    backends.clear();
    ports.clear();
    for (int i = 0; i < 4; ++i) {
      const double slowdown = i == 3 ? s.slow : 1.0;
      const auto port = base ? static_cast<std::uint16_t>(base + i) : std::uint16_t{0};
      backends.push_back(
          std::make_unique<mb::sim_backend>(io, "b" + std::to_string(i), s.slots, slowdown, port));
      ports.push_back(backends.back()->port());
    }
  };
  try {
    open_backends(s.base_port);
  } catch (const boost::system::system_error& e) {
    // The fixed ports lie in the kernel's ephemeral range, so a client connection elsewhere on
    // the machine may hold one: run on ephemeral ports rather than not at all.
    if (!s.base_port) throw;
    std::cerr << "routing bench: backend ports " << s.base_port << "-" << s.base_port + 3 << ": "
              << e.code().message() << "; using ephemeral ports (other key owners than usual)\n";
    open_backends(0);
  }
  std::thread server([&io] { io.run(); });
  // Stops the backends' thread however this ends (a proxy that fails to start throws).
  struct stopper {
    boost::asio::io_context& io;
    std::thread& t;
    ~stopper() {
      io.stop();
      t.join();
    }
  } stop{io, server};
  modelgate::test_support::temp_dir dir;
  mb::running_system sys(spec, paths, ports, dir);
  mb::load_options lo;
  lo.port = sys.port();
  lo.timeout = std::chrono::seconds(s.timeout_s);
  auto out = mb::run_open_loop(plan, lo);
  return summarise(spec.name, plan, out, s);
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

void print_table(const std::vector<row>& rows, const settings& s) {
  std::cout << "\n| system | ok / measured | throughput (req/s) | p50 (ms) | p90 (ms) | p99 (ms) | share on slow b3 "
               "| spread max/mean | key affinity | b0 / b1 / b2 / b3 |\n"
               "|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : rows) {
    // A percentile that falls on a failed request reads "> timeout".
    auto ms = [&](double v) {
      return std::isinf(v) ? "> " + std::to_string(s.timeout_s * 1000) + " (failed)" : fixed(v, 1);
    };
    std::cout << "| " << r.name << " | " << r.ok << " / " << r.measured << " | "
              << fixed(r.throughput, 0)
              << " | " << ms(r.p50_ms) << " | " << ms(r.p90_ms) << " | "
              << ms(r.p99_ms)
              << " | " << fixed(100 * r.slow_share, 1) << "% | " << fixed(r.spread, 2) << " | "
              << (r.affinity ? fixed(100 * *r.affinity, 1) + "%" : "-") << " | ";
    for (std::size_t b = 0; b < r.per_backend.size(); ++b)
      std::cout << (b ? " / " : "") << r.per_backend[b];
    std::cout << " |\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"modelgate routing-quality benchmark"};
  settings s;
  mb::system_paths paths;
  bool quick = false, no_haproxy = false;
  std::string only;
  app.add_option("--proxy", paths.modelgate, "the modelgate binary")->required();
  app.add_option("--haproxy", paths.haproxy, "the haproxy binary")->default_val("/usr/sbin/haproxy");
  app.add_flag("--no-haproxy", no_haproxy, "skip the HAProxy rows");
  app.add_flag("--quick", quick, "3 s per system (checks the harness; numbers are rough)");
  app.add_option("--rate", s.rate, "offered requests per second")->capture_default_str();
  app.add_option("--duration", s.duration, "seconds of arrivals per system")->capture_default_str();
  app.add_option("--workers", paths.workers, "modelgate workers / HAProxy threads")
      ->capture_default_str();
  app.add_option("--seed", s.seed, "random seed of the arrival plan")->capture_default_str();
  app.add_option("--only", only, "run only systems whose name contains this");
  app.add_option("--backend-port", s.base_port, "first of 4 backend ports (0: ephemeral)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (quick) {
    s.duration = 3;
    s.warmup = 0.5;
  }
  if (no_haproxy || !std::filesystem::exists(paths.haproxy)) paths.haproxy.clear();

  const double fast_cap = s.slots * 1000.0 / mean_cost_ms();
  const double capacity = 3 * fast_cap + fast_cap / s.slow;
  auto plan = make_plan(s);
  std::cout << "# routing quality: 4 simulated backends (" << s.slots << " slots each, b3 " << s.slow
            << "x slower), costs 10/30/120 ms at 60/30/10%, mean " << fixed(mean_cost_ms(), 1)
            << " ms\n# capacity " << fixed(capacity, 0) << " req/s (b3 "
            << fixed(100 * (fast_cap / s.slow) / capacity, 1)
            << "% of it); offered " << fixed(s.rate, 0) << " req/s Poisson ("
            << fixed(100 * s.rate / capacity, 0) << "% of capacity) for " << s.duration << " s, "
            << plan.size() << " requests, first " << s.warmup << " s not measured; keys: "
            << s.sessions << " sessions, Zipf " << s.zipf << "; " << paths.workers
            << " proxy threads; client timeout " << s.timeout_s << " s\n";

  if (std::ifstream load("/proc/loadavg"); load) {
    std::string one;
    load >> one;
    std::cout << "# load average (1 min) at start: " << one << " on "
              << std::thread::hardware_concurrency() << " hardware threads\n";
  }
  std::vector<row> rows;
  for (const auto& spec : mb::default_systems(!paths.haproxy.empty())) {
    if (!only.empty() && spec.name.find(only) == std::string::npos) continue;
    std::cerr << "running " << spec.name << " ...\n";
    try {
      rows.push_back(run_one(spec, paths, plan, s));
    } catch (const std::exception& e) {
      std::cerr << spec.name << ": " << e.what() << "\n";
      return 1;
    }
  }
  print_table(rows, s);
  return 0;
}
