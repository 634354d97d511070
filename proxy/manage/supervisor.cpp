#include "proxy/manage/supervisor.hpp"

#include "proxy/health/prober.hpp"
#include "proxy/manage/child_process.hpp"
#include "proxy/observe/log_escaped.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <sys/wait.h>

#include <algorithm>
#include <csignal>
#include <cmath>

namespace modelgate::proxy {
namespace asio = boost::asio;
namespace {

constexpr auto tok = asio::as_tuple(asio::use_awaitable);
constexpr auto tick_interval = std::chrono::milliseconds(100);
constexpr auto probe_interval = std::chrono::milliseconds(250);
constexpr auto probe_timeout = std::chrono::seconds(1);
constexpr auto first_backoff = std::chrono::milliseconds(500);
// A replica that leaves the pool keeps running this long before its in-flight count decides:
// a request that picked it just before may not have counted itself yet.
constexpr auto drain_grace = std::chrono::milliseconds(200);

std::string describe_exit(int status) {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("signal ") + strsignal(WTERMSIG(status));
  return "status " + std::to_string(status);
}

}  // namespace

pool_supervisor::pool_supervisor(asio::io_context& io, std::shared_ptr<pool_live> live,
                                 prometheus::Registry& reg)
    : io_(io),
      live_(std::move(live)),
      cfg_(live_->cfg()),
      managed_(*cfg_.managed),
      scaler_(managed_, clock::now()) {
  const prometheus::Labels pool{{"pool", cfg_.name}};
  desired_gauge_ = &prometheus::BuildGauge()
                        .Name("modelgate_managed_replicas_desired")
                        .Help("Replicas the autoscaler wants for a managed pool")
                        .Register(reg)
                        .Add(pool);
  ready_gauge_ = &prometheus::BuildGauge()
                      .Name("modelgate_managed_replicas_ready")
                      .Help("Replicas of a managed pool that passed their ready check and take requests")
                      .Register(reg)
                      .Add(pool);
  auto& scale = prometheus::BuildCounter()
                    .Name("modelgate_managed_scale_events_total")
                    .Help("Autoscaler decisions for a managed pool, by direction")
                    .Register(reg);
  scaled_up_ = &scale.Add({{"pool", cfg_.name}, {"direction", "up"}});
  scaled_down_ = &scale.Add({{"pool", cfg_.name}, {"direction", "down"}});
  restarts_ = &prometheus::BuildCounter()
                   .Name("modelgate_managed_restarts_total")
                   .Help("Replicas of a managed pool restarted after they died or never became ready")
                   .Register(reg)
                   .Add(pool);
}

pool_supervisor::~pool_supervisor() {
  *alive_ = false;
  // Normally stop() ran; if not (an exception on the way out), leave no orphans.
  for (const auto& r : replicas_) signal(r, SIGKILL);
}

void pool_supervisor::update(const config::managed_pool& next) {
  if (next == managed_) return;
  managed_ = next;
  scaler_.reconfigure(managed_);
  spdlog::info("pool {}: managed settings updated (replicas {}..{}, target {} per replica)", cfg_.name,
               managed_.min_replicas, managed_.max_replicas, managed_.target_queue_depth);
  update_gauges();
}

void pool_supervisor::start(unsigned initial) {
  if (initial > 0) scaler_.resume_at(initial);
  update_gauges();
  asio::co_spawn(io_, control_loop(), log_escaped("managed pool control loop"));
}

unsigned pool_supervisor::ready_count() const noexcept {
  return static_cast<unsigned>(std::count_if(replicas_.begin(), replicas_.end(),
                                             [](const replica& r) { return r.state == phase::ready; }));
}

asio::awaitable<void> pool_supervisor::control_loop() {
  auto alive = alive_;
  asio::steady_timer timer(io_);
  while (*alive && !(stopping_ && replicas_.empty())) {
    tick(clock::now());
    timer.expires_after(tick_interval);
    co_await timer.async_wait(tok);
  }
}

double pool_supervisor::load(clock::time_point now) const {
  double total = 0;
  for (const auto& r : replicas_) {
    if (r.state != phase::ready) continue;
    total += static_cast<double>(std::max<std::int64_t>(0, live_->at(r.slot).in_flight.load(std::memory_order_relaxed)));
    total += static_cast<double>(live_->queued(r.slot, now));
  }
  return total;
}

void pool_supervisor::tick(clock::time_point now) {
  if (!stopping_) {
    scaler_.sample(now, load(now));
    const auto before = scaler_.desired();
    const auto desired = scaler_.evaluate(now);
    if (desired != before) {
      (desired > before ? scaled_up_ : scaled_down_)->Increment();
      spdlog::info("pool {}: scaling {} from {} to {} replicas (mean load {:.1f}, target {} per replica)",
                   cfg_.name, desired > before ? "up" : "down", before, desired,
                   scaler_.window_mean(now), managed_.target_queue_depth);
    }
    scale_to(desired, now);
  }
  for (auto& r : replicas_) {
    switch (r.state) {
      case phase::starting:
        if (now >= r.deadline) {
          spdlog::warn("pool {}: replica {} (pid {}) not ready after {} ms; killing it", cfg_.name,
                       r.slot, r.pid, managed_.ready_timeout.count());
          signal(r, SIGKILL);  // on_exit counts the restart
          r.deadline = clock::time_point::max();
        } else if (!r.probing) {
          r.probing = true;
          asio::co_spawn(io_, probe_ready(r.pid), log_escaped("managed pool ready probe"));
        }
        break;
      case phase::draining:
        if ((now >= r.started && live_->at(r.slot).in_flight.load(std::memory_order_relaxed) <= 0) ||
            now >= r.deadline) {
          if (now >= r.deadline) spdlog::warn("pool {}: replica {} still busy after the drain timeout", cfg_.name, r.slot);
          signal(r, SIGTERM);
          r.state = phase::stopping;
          r.deadline = now + managed_.stop_timeout;
        }
        break;
      case phase::stopping:
        if (now >= r.deadline) {
          spdlog::warn("pool {}: replica {} (pid {}) ignored SIGTERM for {} ms; killing it", cfg_.name,
                       r.slot, r.pid, managed_.stop_timeout.count());
          signal(r, SIGKILL);
          r.deadline = clock::time_point::max();
        }
        break;
      case phase::ready:
        break;
    }
  }
  update_gauges();
}

void pool_supervisor::scale_to(unsigned desired, clock::time_point now) {
  auto active = [&] {
    return static_cast<unsigned>(std::count_if(replicas_.begin(), replicas_.end(), [](const replica& r) {
      return r.state == phase::starting || r.state == phase::ready;
    }));
  };
  while (active() < desired && now >= next_spawn_) {
    if (!spawn_into_free_slot(now)) break;
  }
  while (active() > desired) {
    // Shrink the youngest first: a replica still starting before one that serves.
    replica* victim = nullptr;
    for (auto& r : replicas_) {
      if (r.state != phase::starting && r.state != phase::ready) continue;
      if (!victim || (r.state == phase::starting && victim->state == phase::ready) ||
          (r.state == victim->state && r.started > victim->started))
        victim = &r;
    }
    begin_drain(*victim, now);
  }
}

bool pool_supervisor::spawn_into_free_slot(clock::time_point now) {
  std::vector<bool> used(live_->size(), false);
  for (const auto& r : replicas_) used[r.slot] = true;
  auto free_slot = std::find(used.begin(), used.end(), false);
  if (free_slot == used.end()) return false;  // replicas still stopping hold every slot
  replica r;
  r.slot = static_cast<std::size_t>(free_slot - used.begin());
  try {
    // Bound and listening from here on: no other process can take the port before the replica
    // (which gets the socket itself, or the port once it starts: see socket_handoff).
    auto socket = listening_socket::open(managed_.host);
    r.port = socket.port();
    r.pid = spawn_child(expand_command(managed_.command, r.port), managed_.workdir, std::move(socket),
                        managed_.listen_fds ? socket_handoff::listen_fds : socket_handoff::port_only);
  } catch (const std::exception& e) {
    // Cannot start at all (missing program): back off like a crash.
    spdlog::error("pool {}: cannot start a replica: {}", cfg_.name, e.what());
    ++crash_streak_;
    next_spawn_ = now + std::min<clock::duration>(managed_.restart_backoff_max,
                                                  first_backoff * (1u << std::min(crash_streak_, 16u)));
    return false;
  }
  r.started = now;
  r.deadline = now + managed_.ready_timeout;
  spdlog::info("pool {}: started replica {} (pid {}) on port {}", cfg_.name, r.slot, r.pid, r.port);
  replicas_.push_back(r);
  return true;
}

asio::awaitable<void> pool_supervisor::probe_ready(pid_t pid) {
  auto alive = alive_;
  asio::steady_timer pause(io_);
  pause.expires_after(probe_interval);
  co_await pause.async_wait(tok);
  if (!*alive) co_return;
  auto* r = find(pid);
  if (!r || r->state != phase::starting) co_return;
  slot_info target{managed_.host, r->port, 0};
  const auto& backend = cfg_.backends[r->slot];
  auto result = co_await probe_get(backend, target, nullptr, managed_.ready_path, probe_timeout);
  if (!*alive) co_return;
  r = find(pid);  // the vector may have changed while probing
  if (!r || r->state != phase::starting) co_return;
  r->probing = false;
  if (result.ec || result.status != 200) co_return;
  r->state = phase::ready;
  crash_streak_ = 0;
  live_->set_slot_address(r->slot, managed_.host, r->port);
  spdlog::info("pool {}: replica {} (pid {}) is ready on {}:{} after {} ms", cfg_.name, r->slot, pid,
               managed_.host, r->port,
               std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - r->started).count());
  update_gauges();
}

void pool_supervisor::begin_drain(replica& r, clock::time_point now) {
  const bool was_ready = r.state == phase::ready;
  live_->set_slot_address(r.slot, "");  // no new requests; connections to it are not reused
  r.state = phase::draining;
  r.started = now + (was_ready ? drain_grace : clock::duration::zero());
  r.deadline = now + managed_.drain_timeout;
  spdlog::info("pool {}: draining replica {} (pid {})", cfg_.name, r.slot, r.pid);
}

void pool_supervisor::signal(const replica& r, int sig) {
  // The replica leads its own process group: whatever it started goes with it.
  if (r.pid > 0) ::kill(-r.pid, sig);
}

pool_supervisor::replica* pool_supervisor::find(pid_t pid) {
  for (auto& r : replicas_)
    if (r.pid == pid) return &r;
  return nullptr;
}

bool pool_supervisor::on_exit(pid_t pid, int status) {
  auto* r = find(pid);
  if (!r) return false;
  const auto now = clock::now();
  const bool planned = r->state == phase::draining || r->state == phase::stopping;
  if (!planned) {
    live_->set_slot_address(r->slot, "");
    restarts_->Increment();
    if (r->state == phase::starting) ++crash_streak_;
    const auto backoff = r->state == phase::starting
                             ? std::min<clock::duration>(managed_.restart_backoff_max,
                                                         first_backoff * (1u << std::min(crash_streak_, 16u)))
                             : clock::duration::zero();
    next_spawn_ = std::max(next_spawn_, now + backoff);
    spdlog::warn("pool {}: replica {} (pid {}) died ({}); restarting in {} ms", cfg_.name, r->slot, pid,
                 describe_exit(status), std::chrono::duration_cast<std::chrono::milliseconds>(backoff).count());
  } else {
    spdlog::info("pool {}: replica {} (pid {}) stopped ({})", cfg_.name, r->slot, pid, describe_exit(status));
  }
  replicas_.erase(replicas_.begin() + (r - replicas_.data()));
  update_gauges();
  return true;
}

asio::awaitable<void> pool_supervisor::stop() {
  stopping_ = true;
  const auto now = clock::now();
  for (auto& r : replicas_)
    if (r.state == phase::starting || r.state == phase::ready) begin_drain(r, now);
  auto alive = alive_;
  asio::steady_timer pause(io_);
  while (*alive && !replicas_.empty()) {
    pause.expires_after(std::chrono::milliseconds(50));
    co_await pause.async_wait(tok);
  }
}

void pool_supervisor::set_reporting(bool on) {
  reporting_ = on;
  update_gauges();
}

void pool_supervisor::update_gauges() {
  if (!reporting_) return;
  desired_gauge_->Set(desired());
  ready_gauge_->Set(ready_count());
}

}  // namespace modelgate::proxy
