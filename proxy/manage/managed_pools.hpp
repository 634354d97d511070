#pragma once
// The supervisors of every managed pool, across reloads. A reload plans the pools of its new
// generation: a pool it shares with the running one keeps its supervisor (and replicas); a new or
// changed pool gets a new supervisor that starts its replicas at once, while the running
// generation still serves. The reload waits until those are ready, then adopts the plan (the
// supervisors of removed or replaced pools drain and stop), or abandons it when they never become
// ready, so a command that cannot start leaves the running pool in place. All on the control
// thread.

#include "proxy/manage/supervisor.hpp"
#include "proxy/runtime_state.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <prometheus/registry.h>

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace modelgate::proxy {

class managed_pools {
 public:
  struct plan {
    struct fresh_pool {
      std::shared_ptr<pool_supervisor> supervisor;
      unsigned initial = 0;  // replicas it starts with, and waits for
    };
    std::vector<std::shared_ptr<pool_supervisor>> next;  // every managed pool of the generation
    std::vector<fresh_pool> fresh;                       // those new to it
  };

  managed_pools(boost::asio::io_context& control, prometheus::Registry& registry)
      : io_(control), registry_(registry) {}

  /// The supervisors for `st`'s managed pools. New ones start at once once start() has run; a
  /// replaced pool's successor starts at the size its predecessor runs (within its own limits).
  plan plan_for(const runtime_state& st);
  /// Waits until every new pool of `p` runs its starting size, or at least one ready replica
  /// once its ready_timeout has passed (a warning then). An error when one has none by then, or
  /// when `draining` is set.
  boost::asio::awaitable<std::optional<std::string>> await_ready(const plan& p,
                                                                std::vector<std::string>& warnings,
                                                                const std::atomic<bool>& draining);
  /// `p` becomes the running set: kept supervisors take `st`'s settings, the others retire.
  void adopt(const runtime_state& st, plan p);
  /// A rejected reload: the new supervisors of `p` drain and stop.
  void abandon(plan p);

  /// A plan with new pools is out, neither adopted nor abandoned yet (a reload waits for it).
  bool waiting() const noexcept { return !pending_.empty(); }

  /// Starts every supervisor planned so far; later plans start theirs at once.
  void start();
  /// A child exited; true when it was a replica of one of the pools.
  bool on_exit(pid_t pid, int wait_status);
  /// Drains and stops every replica (running, pending and retiring pools).
  boost::asio::awaitable<void> stop_all();

 private:
  void retire(const std::shared_ptr<pool_supervisor>& s);

  boost::asio::io_context& io_;
  prometheus::Registry& registry_;
  std::vector<std::shared_ptr<pool_supervisor>> running_;
  std::vector<std::shared_ptr<pool_supervisor>> pending_;   // planned, not adopted yet
  std::vector<std::shared_ptr<pool_supervisor>> retiring_;  // draining and stopping
  bool started_ = false;
};

}  // namespace modelgate::proxy
