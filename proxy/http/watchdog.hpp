#pragma once
// A per-connection deadline. Arming it is an assignment (no timer syscall unless the deadline moves
// earlier); when the deadline passes it calls `on_expire` (which cancels the connection's pending
// I/O) and remembers that it fired, so the awaiting code can tell a timeout from other errors.
// Single-threaded: use from the owning io_context's thread only.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>

namespace modelgate::proxy {

class watchdog {
 public:
  using clock = std::chrono::steady_clock;

  watchdog(boost::asio::any_io_executor ex, std::function<void()> on_expire)
      : s_(std::make_shared<state>(std::move(ex), std::move(on_expire))) {}
  ~watchdog() {
    s_->alive = false;
    s_->on_expire = nullptr;
    s_->timer.cancel();
  }
  watchdog(const watchdog&) = delete;
  watchdog& operator=(const watchdog&) = delete;

  /// Sets the deadline to now + d and clears the expired flag.
  void expires_after(clock::duration d) { expires_at(clock::now() + d); }

  void expires_at(clock::time_point t) {
    s_->expired = false;
    s_->deadline = t;
    if (!s_->waiting || t < s_->armed) arm(s_);
  }

  /// No deadline until the next expires_*; a pending wait wakes later and goes back to sleep.
  void disarm() noexcept { s_->deadline = clock::time_point::max(); }

  bool expired() const noexcept { return s_->expired; }

 private:
  struct state {
    state(boost::asio::any_io_executor ex, std::function<void()> f)
        : timer(std::move(ex)), on_expire(std::move(f)) {}
    boost::asio::steady_timer timer;
    std::function<void()> on_expire;
    clock::time_point deadline = clock::time_point::max();
    clock::time_point armed = clock::time_point::max();
    bool waiting = false;
    bool expired = false;
    bool alive = true;
  };

  // The handler owns the state, so it may safely run after the watchdog is gone.
  static void arm(const std::shared_ptr<state>& s) {
    s->armed = s->deadline;
    s->waiting = true;
    s->timer.expires_at(s->deadline);
    s->timer.async_wait([s](const boost::system::error_code& ec) {
      if (!s->alive || ec == boost::asio::error::operation_aborted) return;
      s->waiting = false;
      if (s->deadline == clock::time_point::max()) return;
      if (clock::now() >= s->deadline) {
        s->expired = true;
        s->deadline = clock::time_point::max();
        if (s->on_expire) s->on_expire();
      } else {
        arm(s);
      }
    });
  }

  std::shared_ptr<state> s_;
};

}  // namespace modelgate::proxy
