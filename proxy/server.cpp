#include "proxy/server.hpp"

#include "proxy/admin/admin_server.hpp"
#include "proxy/health/dns_discovery.hpp"
#include "proxy/health/prober.hpp"
#include "proxy/http/worker.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include <sys/resource.h>

#include <csignal>
#include <thread>

namespace modelgate::proxy {

struct server::impl {
  explicit impl(config::proxy_config cfg) : state(std::move(cfg)) {
    auto listeners = state.cfg.listeners;
    for (unsigned i = 0; i < state.cfg.workers; ++i) {
      workers.push_back(std::make_unique<worker>(state, i));
      workers.back()->bind(listeners);
    }
    for (std::size_t i = 0; i < listeners.size(); ++i)
      spdlog::info("listener {} listening on {}{}", i, listeners[i].address.str(),
                   listeners[i].tls ? " (tls)" : "");
    discovery = std::make_unique<dns_discovery>(workers.front()->io(), state);
    discovery->resolve_now();
    probes = std::make_unique<prober>(workers.front()->io(), state);
    if (state.cfg.admin_listener) {
      admin = std::make_unique<admin_server>(workers.front()->io(), state);
      config::host_port a = state.cfg.admin_listener->address;
      a.port = admin->port();
      spdlog::info("admin listening on {}", a.str());
    }
  }

  void drain_and_stop();

  runtime_state state;
  std::vector<std::unique_ptr<worker>> workers;
  std::unique_ptr<dns_discovery> discovery;
  std::unique_ptr<prober> probes;
  std::unique_ptr<admin_server> admin;
  asio::io_context main_io{1};
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

int server::run() {
  auto& s = *impl_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::vector<std::thread> threads;
  for (auto& w : s.workers) {
    w->start();
    guards.push_back(asio::make_work_guard(w->io()));
  }
  s.discovery->start();
  s.probes->start();
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
    spdlog::info("signal {}: draining (up to {} ms)", sig, s.state.cfg.drain_timeout.count());
    s.drain_and_stop();
  });
  s.main_io.run();

  if (s.admin) s.admin->stop();
  guards.clear();
  for (auto& w : s.workers) w->io().stop();
  for (auto& t : threads) t.join();
  s.state.log.flush();
  spdlog::info("stopped");
  return 0;
}

void server::impl::drain_and_stop() {
  state.draining = true;
  asio::co_spawn(
      main_io,
      [this]() -> asio::awaitable<void> {
        auto deadline = std::chrono::steady_clock::now() + state.cfg.drain_timeout;
        asio::steady_timer pause(main_io);
        // Idle connections close when nudged; busy ones finish their response and then close.
        while (state.connections.load() > 0 && std::chrono::steady_clock::now() < deadline) {
          for (auto& w : workers) asio::post(w->io(), [&w] { w->drain(); });
          pause.expires_after(std::chrono::milliseconds(50));
          co_await pause.async_wait(asio::use_awaitable);
        }
        if (auto open = state.connections.load())
          spdlog::warn("drain timeout: closing {} connections", open);
        main_io.stop();
      },
      [this](std::exception_ptr e) {
        if (e) main_io.stop();
      });
}

}  // namespace modelgate::proxy
