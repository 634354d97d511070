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

  using entry_list = std::list<entry>;

  /// Keeps one socket registered while it lives. It shares the list, so it may outlive the
  /// watch list (an exchange destroyed with its worker's io_context at exit).
  class registration {
   public:
    registration() = default;
    registration(std::shared_ptr<entry_list> list, entry_list::iterator it) : list_(std::move(list)), it_(it) {}
    registration(registration&& o) noexcept : list_(std::move(o.list_)), it_(o.it_) {}
    registration& operator=(registration&& o) noexcept {
      if (this != &o) {
        reset();
        list_ = std::move(o.list_);
        it_ = o.it_;
      }
      return *this;
    }
    ~registration() { reset(); }

    /// The sweep found the client gone (on_gone was called).
    bool gone() const noexcept { return list_ && it_->gone; }
    void reset() noexcept {
      if (list_) list_->erase(it_);
      list_.reset();
    }

   private:
    std::shared_ptr<entry_list> list_;
    entry_list::iterator it_;
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

  std::size_t size() const noexcept { return entries_->size(); }

 private:
  void schedule();

  std::shared_ptr<entry_list> entries_ = std::make_shared<entry_list>();
  boost::asio::steady_timer timer_;
  std::chrono::milliseconds period_;
  bool scheduled_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace modelgate::proxy
