#pragma once
// Runs the replicas of one managed pool: starts them on free ports (each replica gets its bound,
// listening socket by LISTEN_FDS when `listen_fds` is on), puts each into a replica slot
// of the pool once its ready path answers 200, restarts one that dies (with backoff, counted),
// and follows the autoscaler: growing starts replicas, shrinking drains one (its slot stops
// receiving requests, the requests in flight finish) before SIGTERM, then SIGKILL after
// stop_timeout. Everything runs on the control io_context (the main thread, which also forks, so
// the children's parent-death signal follows the process, not a worker thread).

#include "config/config.hpp"
#include "proxy/health/pool_live.hpp"
#include "proxy/manage/autoscaler.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <vector>

namespace modelgate::proxy {

class pool_supervisor {
 public:
  using clock = std::chrono::steady_clock;

  /// `live` is the pool's live state (its backends are the replica slots of `cfg.managed`).
  pool_supervisor(boost::asio::io_context& io, std::shared_ptr<pool_live> live,
                  prometheus::Registry& registry);
  ~pool_supervisor();
  pool_supervisor(const pool_supervisor&) = delete;
  pool_supervisor& operator=(const pool_supervisor&) = delete;

  /// Spawns the control loop: `initial` replicas (clamped to min..max; min_replicas when 0)
  /// start at once. Call on the control thread.
  void start(unsigned initial = 0);
  /// Drains and stops every replica; completes when all have exited (or were killed).
  boost::asio::awaitable<void> stop();

  /// A reload changed only keys that need no restart (see scaling_only_change): new limits,
  /// target, cooldowns, window and timeouts take effect at the next tick.
  void update(const config::managed_pool& next);

  /// A child process exited (reaped by the server). True when it was one of this pool's.
  bool on_exit(pid_t pid, int wait_status);

  /// Whether this supervisor writes the pool's desired/ready gauges. Two supervisors of one pool
  /// name live side by side while a reload replaces a pool; only the serving one reports.
  void set_reporting(bool on);

  const std::shared_ptr<pool_live>& live_ptr() const noexcept { return live_; }
  const std::string& name() const noexcept { return cfg_.name; }
  const config::managed_pool& managed() const noexcept { return managed_; }
  unsigned ready_count() const noexcept;
  unsigned desired() const noexcept { return stopping_ ? 0 : scaler_.desired(); }

 private:
  enum class phase { starting, ready, draining, stopping };
  struct replica {
    pid_t pid = 0;
    std::uint16_t port = 0;
    std::size_t slot = 0;
    phase state = phase::starting;
    clock::time_point started{};
    clock::time_point deadline{};  // starting: ready_timeout; draining: drain; stopping: SIGKILL
    bool probing = false;          // a readiness probe is in flight
  };

  boost::asio::awaitable<void> control_loop();
  boost::asio::awaitable<void> probe_ready(pid_t pid);
  void tick(clock::time_point now);
  void scale_to(unsigned desired, clock::time_point now);
  bool spawn_into_free_slot(clock::time_point now);
  void begin_drain(replica& r, clock::time_point now);
  void signal(const replica& r, int sig);
  replica* find(pid_t pid);
  double load(clock::time_point now) const;
  void update_gauges();

  boost::asio::io_context& io_;
  std::shared_ptr<pool_live> live_;
  const config::pool& cfg_;
  config::managed_pool managed_;  // a reload may change its scaling and timing keys (update())
  autoscaler scaler_;
  std::vector<replica> replicas_;
  bool stopping_ = false;
  bool reporting_ = true;
  unsigned crash_streak_ = 0;      // consecutive replicas that died before becoming ready
  clock::time_point next_spawn_{};  // restart backoff
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

  prometheus::Gauge* desired_gauge_;
  prometheus::Gauge* ready_gauge_;
  prometheus::Counter* scaled_up_;
  prometheus::Counter* scaled_down_;
  prometheus::Counter* restarts_;
};

}  // namespace modelgate::proxy
