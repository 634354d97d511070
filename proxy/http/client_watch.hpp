#pragma once
// Notices clients that leave while their request waits for the upstream's answer, so the upstream
// request can be cancelled and the backend stops generating for nobody (a long completion whose
// client timed out). An exchange registers its client's socket for the wait; a sweep every
// `period` polls all registered sockets of the worker in one poll(2) call (level-triggered, so a
// FIN that came before the registration counts too) and calls `on_gone` for each client that
// reset its connection, or that closed its sending side when `half_close_aborts`. Nothing is
// done per request beyond a list insert and erase: a fast answer costs no system call.
// Single-threaded: one per worker.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <iterator>
#include <list>
#include <memory>
#include <utility>

namespace modelgate::proxy {

class client_watchlist {
 public:
  struct entry {
    int fd;
    bool half_close_aborts;
    std::function<void()> on_gone;
    bool gone = false;
  };

  /// Keeps one socket registered while it lives.
  class registration {
   public:
    registration() = default;
    registration(client_watchlist* list, std::list<entry>::iterator it) : list_(list), it_(it) {}
    registration(registration&& o) noexcept : list_(std::exchange(o.list_, nullptr)), it_(o.it_) {}
    registration& operator=(registration&& o) noexcept {
      if (this != &o) {
        reset();
        list_ = std::exchange(o.list_, nullptr);
        it_ = o.it_;
      }
      return *this;
    }
    ~registration() { reset(); }

    /// The sweep found the client gone (on_gone was called).
    bool gone() const noexcept { return list_ && it_->gone; }
    void reset() noexcept {
      if (list_) list_->entries_.erase(it_);
      list_ = nullptr;
    }

   private:
    client_watchlist* list_ = nullptr;
    std::list<entry>::iterator it_;
  };

  explicit client_watchlist(boost::asio::any_io_executor ex,
                            std::chrono::milliseconds period = std::chrono::milliseconds(200))
      : timer_(std::move(ex)), period_(period) {}
  ~client_watchlist() { *alive_ = false; }
  client_watchlist(const client_watchlist&) = delete;
  client_watchlist& operator=(const client_watchlist&) = delete;

  /// Watches `fd` until the registration ends. `on_gone` runs at most once, from the sweep.
  registration watch(int fd, bool half_close_aborts, std::function<void()> on_gone);

  /// Polls every registered socket now; returns how many were found gone.
  std::size_t sweep();

  std::size_t size() const noexcept { return entries_.size(); }

 private:
  void schedule();

  std::list<entry> entries_;
  boost::asio::steady_timer timer_;
  std::chrono::milliseconds period_;
  bool scheduled_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace modelgate::proxy
