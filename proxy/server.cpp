#include "proxy/server.hpp"

#include "proxy/admin/admin_server.hpp"
#include "proxy/health/dns_discovery.hpp"
#include "proxy/health/prober.hpp"
#include "proxy/http/worker.hpp"
#include "proxy/manage/managed_pools.hpp"
#include "proxy/observe/log_escaped.hpp"

#include "config/loader.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <spdlog/spdlog.h>

#include <sys/resource.h>
#include <sys/wait.h>

#include <csignal>
#include <thread>

namespace modelgate::proxy {
namespace {

// Loops that read a generation's pools: DNS re-resolution, health checks, load-report scrapes.
// Replaced on every reload; they run on the first worker's io_context.
struct generation_services {
  std::unique_ptr<dns_discovery> discovery;
  std::unique_ptr<prober> probes;
};

struct reload_metrics {
  explicit reload_metrics(prometheus::Registry& reg) {
    auto& reloads = prometheus::BuildCounter()
                        .Name("modelgate_config_reloads_total")
                        .Help("Configuration reloads (SIGHUP, POST /admin/reload), by result")
                        .Register(reg);
    success = &reloads.Add({{"result", "success"}});
    failure = &reloads.Add({{"result", "failure"}});
    generation = &prometheus::BuildGauge()
                      .Name("modelgate_config_generation")
                      .Help("Generation of the configuration serving new requests (1 at start)")
                      .Register(reg)
                      .Add({});
    last_success = &prometheus::BuildGauge()
                        .Name("modelgate_config_last_reload_success_timestamp_seconds")
                        .Help("Unix time of the last configuration load that succeeded")
                        .Register(reg)
                        .Add({});
  }
  void loaded(std::uint64_t gen) {
    generation->Set(static_cast<double>(gen));
    last_success->SetToCurrentTime();
  }
  prometheus::Counter* success;
  prometheus::Counter* failure;
  prometheus::Gauge* generation;
  prometheus::Gauge* last_success;
};

void log_listeners(const std::vector<config::listener>& listeners,
                   const std::vector<std::uint16_t>& ports, std::size_t first_index) {
  for (std::size_t i = 0; i < listeners.size(); ++i) {
    auto a = listeners[i].address;
    a.port = ports[i];
    spdlog::info("listener {} listening on {}{}", first_index + i, a.str(), listeners[i].tls ? " (tls)" : "");
  }
}

}  // namespace

struct server::impl {
  explicit impl(config::proxy_config cfg) : process(cfg), reloads(*process.registry) {
    auto first = std::make_shared<runtime_state>(std::move(cfg), process);
    current.store(first);
    reloads.loaded(first->generation);
    std::vector<std::uint16_t> ports;
    for (unsigned i = 0; i < first->cfg.workers; ++i) {
      workers.push_back(std::make_unique<worker>(first, i));
      initial_acceptors.push_back(workers.back()->open_acceptors(first->cfg.listeners, ports));
    }
    log_listeners(first->cfg.listeners, ports, 0);
    services = make_services(first);
    services.discovery->resolve_now();
    managed.adopt(*first, managed.plan_for(*first));
    if (first->cfg.admin_listener) {
      admin_hooks hooks{[this] { return current.load(); }, [this] { return reload(); },
                        main_io.get_executor()};
      admin = std::make_unique<admin_server>(workers.front()->io(), first->cfg.admin_listener->address,
                                             std::move(hooks));
      config::host_port a = first->cfg.admin_listener->address;
      a.port = admin->port();
      spdlog::info("admin listening on {}", a.str());
    }
  }

  generation_services make_services(const std::shared_ptr<runtime_state>& st) {
    return {std::make_unique<dns_discovery>(workers.front()->io(), st),
            std::make_unique<prober>(workers.front()->io(), st)};
  }

  asio::awaitable<reload_outcome> reload();
  void drain_and_stop();

  // A validated configuration whose listeners are bound, not yet serving.
  struct prepared_reload {
    std::shared_ptr<runtime_state> next;
    std::vector<config::listener> added;
    std::vector<std::vector<worker_acceptor>> acceptors;  // per worker
    std::vector<std::uint16_t> ports;
    std::vector<std::string> warnings;
  };
  prepared_reload prepare_reload(const runtime_state& old);  // throws when the file is rejected
  void commit_reload(prepared_reload p, managed_pools::plan plan, reload_outcome& out);

  // Reaps every exited child and tells its supervisor.
  void reap_children() {
    int status = 0;
    for (pid_t pid; (pid = ::waitpid(-1, &status, WNOHANG)) > 0;) {
      if (!managed.on_exit(pid, status)) spdlog::debug("reaped an unknown child {}", pid);
    }
  }

  process_state process;
  reload_metrics reloads;
  std::atomic<std::shared_ptr<runtime_state>> current;
  std::vector<std::unique_ptr<worker>> workers;
  std::vector<std::vector<worker_acceptor>> initial_acceptors;  // until run() starts them
  generation_services services;
  std::unique_ptr<admin_server> admin;
  asio::io_context main_io{1};
  managed_pools managed{main_io, *process.registry};
};

server::server(config::proxy_config cfg) {
  // Room for many connections: raise the soft descriptor limit to the hard one.
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
  std::signal(SIGPIPE, SIG_IGN);
  impl_ = std::make_unique<impl>(std::move(cfg));
}

server::~server() = default;

// On the main thread. Everything that can fail (reading and validating the file, TLS files,
// binding new listeners, starting new managed replicas) happens before the swap, so a rejected
// file changes nothing.
server::impl::prepared_reload server::impl::prepare_reload(const runtime_state& old) {
  prepared_reload p;
  auto cfg = config::load_config(old.cfg.source);
  // Fixed for the life of the process: kept, with a warning.
  if (cfg.workers != old.cfg.workers) {
    p.warnings.push_back("workers changes need a restart (keeping " + std::to_string(old.cfg.workers) + ")");
    cfg.workers = old.cfg.workers;
  }
  if (cfg.admin_listener != old.cfg.admin_listener) {
    p.warnings.push_back("admin listener changes need a restart (keeping the running one)");
    cfg.admin_listener = old.cfg.admin_listener;
  }
  if (!(cfg.log == old.cfg.log)) {
    p.warnings.push_back("access_log changes need a restart (keeping the running one)");
    cfg.log = old.cfg.log;
  }
  p.next = std::make_shared<runtime_state>(std::move(cfg), process, &old);
  for (const auto& l : p.next->cfg.listeners)
    if (!old.listener_index(listener_key(l))) p.added.push_back(l);
  for (auto& w : workers) p.acceptors.push_back(w->open_acceptors(p.added, p.ports));
  return p;
}

asio::awaitable<reload_outcome> server::impl::reload() {
  auto old = current.load();
  reload_outcome out;
  out.generation = old->generation;
  if (managed.waiting()) {
    out.busy = true;
    out.error = "a reload is already waiting for new managed replicas to become ready";
    spdlog::warn("config reload refused: {}", out.error);
    co_return out;
  }
  prepared_reload p;
  try {
    p = prepare_reload(*old);
  } catch (const std::exception& e) {
    out.error = e.what();
  }
  std::optional<managed_pools::plan> plan;
  if (out.error.empty()) {
    // New and changed managed pools start now; the running generation serves until they are ready.
    plan = managed.plan_for(*p.next);
    if (!plan->fresh.empty()) {
      spdlog::info("reload: waiting for {} new managed pool(s) to become ready", plan->fresh.size());
      std::optional<std::string> problem;
      try {
        problem = co_await managed.await_ready(*plan, p.warnings, process.draining);
      } catch (const std::exception& e) {
        problem = e.what();  // rejected like any other failure: the new replicas are stopped
      }
      if (problem) out.error = *problem;
    }
  }
  if (!out.error.empty()) {
    if (plan) managed.abandon(std::move(*plan));
    // Unstarted acceptors close on their own worker's thread.
    for (std::size_t i = 0; i < p.acceptors.size(); ++i)
      asio::post(workers[i]->io(), [acc = std::move(p.acceptors[i])] {});
    reloads.failure->Increment();
    spdlog::error("config reload rejected, still serving generation {}: {}", old->generation, out.error);
    co_return out;
  }
  commit_reload(std::move(p), std::move(*plan), out);
  co_return out;
}

void server::impl::commit_reload(prepared_reload p, managed_pools::plan plan, reload_outcome& out) {
  auto old = current.load();
  auto next = p.next;
  current.store(next);
  for (std::size_t i = 0; i < workers.size(); ++i)
    asio::post(workers[i]->io(), [w = workers[i].get(), next, acc = std::move(p.acceptors[i])]() mutable {
      w->adopt(next, std::move(acc));
    });
  auto replaced = std::make_shared<generation_services>(std::move(services));
  asio::post(workers.front()->io(), [replaced] {
    replaced->discovery->stop();
    replaced->probes->stop();
  });
  services = make_services(next);
  services.discovery->resolve_now();
  services.discovery->start();
  services.probes->start();
  managed.adopt(*next, std::move(plan));
  for (std::size_t i = 0; i < p.added.size(); ++i)
    log_listeners({p.added[i]}, {p.ports[i]}, *next->listener_index(listener_key(p.added[i])));
  for (const auto& l : old->cfg.listeners)
    if (!next->listener_index(listener_key(l))) spdlog::info("listener {} closed", l.address.str());
  for (const auto& w : p.warnings) spdlog::warn("reload: {}", w);
  reloads.success->Increment();
  reloads.loaded(next->generation);
  out.ok = true;
  out.generation = next->generation;
  out.warnings = std::move(p.warnings);
  spdlog::info("config reloaded from {}: generation {} ({} listeners, {} pools, {} routes)",
               next->cfg.source.string(), next->generation, next->cfg.listeners.size(),
               next->cfg.pools.size(), next->cfg.routes.size());
}

int server::run() {
  auto& s = *impl_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < s.workers.size(); ++i) {
    s.workers[i]->start(std::move(s.initial_acceptors[i]));
    guards.push_back(asio::make_work_guard(s.workers[i]->io()));
  }
  s.initial_acceptors.clear();
  // Before any child exists, so no exit goes unnoticed.
  asio::signal_set children(s.main_io, SIGCHLD);
  std::function<void(const boost::system::error_code&, int)> on_child =
      [&](const boost::system::error_code& ec, int) {
        if (ec) return;
        s.reap_children();
        children.async_wait(on_child);
      };
  children.async_wait(on_child);
  s.managed.start();
  s.services.discovery->start();
  s.services.probes->start();
  if (s.admin) s.admin->start();
  for (auto& w : s.workers) {
    threads.emplace_back([&w] {
      for (;;) {
        try {
          w->io().run();
          return;
        } catch (const std::exception& e) {
          spdlog::error("worker {}: {}", w->index(), e.what());
        }
      }
    });
  }

  asio::signal_set signals(s.main_io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    spdlog::info("signal {}: draining (up to {} ms)", sig, s.current.load()->cfg.drain_timeout.count());
    s.drain_and_stop();
  });
  asio::signal_set hangup(s.main_io, SIGHUP);
  std::function<void(const boost::system::error_code&, int)> on_hangup =
      [&](const boost::system::error_code& ec, int) {
        if (ec || s.process.draining.load()) return;
        spdlog::info("SIGHUP: reloading {}", s.current.load()->cfg.source.string());
        asio::co_spawn(s.main_io, s.reload(), [](std::exception_ptr e, const reload_outcome&) {
          if (e) log_escaped("reload")(e);
        });
        hangup.async_wait(on_hangup);
      };
  hangup.async_wait(on_hangup);
  s.main_io.run();

  if (s.admin) s.admin->stop();
  guards.clear();
  for (auto& w : s.workers) w->io().stop();
  for (auto& t : threads) t.join();
  s.process.log.flush();
  spdlog::info("stopped");
  return 0;
}

void server::impl::drain_and_stop() {
  process.draining = true;
  asio::co_spawn(
      main_io,
      [this]() -> asio::awaitable<void> {
        const auto timeout = current.load()->cfg.drain_timeout;
        auto deadline = std::chrono::steady_clock::now() + timeout;
        asio::steady_timer pause(main_io);
        // Idle connections close when nudged; busy ones finish their response and then close.
        while (process.connections.load() > 0 && std::chrono::steady_clock::now() < deadline) {
          for (auto& w : workers) asio::post(w->io(), [&w] { w->drain(); });
          pause.expires_after(std::chrono::milliseconds(50));
          co_await pause.async_wait(asio::use_awaitable);
        }
        if (auto open = process.connections.load())
          spdlog::warn("drain timeout: closing {} connections", open);
        // Then the managed replicas: nothing is routed to them any more.
        co_await managed.stop_all();
        main_io.stop();
      },
      [this](std::exception_ptr e) {
        if (e) main_io.stop();
      });
}

}  // namespace modelgate::proxy
