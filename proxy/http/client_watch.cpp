#include "proxy/http/client_watch.hpp"

#include <poll.h>

#include <vector>

namespace modelgate::proxy {

client_watchlist::registration client_watchlist::watch(int fd, bool half_close_aborts,
                                                       std::function<void()> on_gone) {
  entries_->push_back(entry{fd, half_close_aborts, std::move(on_gone)});
  schedule();
  return registration(entries_, std::prev(entries_->end()));
}

void client_watchlist::schedule() {
  if (scheduled_) return;
  scheduled_ = true;
  timer_.expires_after(period_);
  timer_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
    if (!*alive) return;
    scheduled_ = false;
    if (ec) return;
    sweep();
    // Keeps running while anything is watched; a quiet worker has no timer.
    if (!entries_->empty()) schedule();
  });
}

std::size_t client_watchlist::sweep() {
  std::vector<pollfd> fds;
  std::vector<entry*> watched;
  fds.reserve(entries_->size());
  for (auto& e : *entries_) {
    if (e.gone) continue;
    fds.push_back(pollfd{e.fd, POLLIN | POLLRDHUP, 0});
    watched.push_back(&e);
  }
  if (fds.empty() || ::poll(fds.data(), fds.size(), 0) <= 0) return 0;
  std::size_t found = 0;
  for (std::size_t i = 0; i < fds.size(); ++i) {
    const auto ev = fds[i].revents;
    // A reset (or both sides shut) is unambiguous; a FIN alone may be a half-close, after which
    // a client can still read its answer.
    const bool reset = (ev & (POLLERR | POLLHUP)) != 0;
    const bool fin = (ev & POLLRDHUP) != 0;
    if (!reset && !(fin && watched[i]->half_close_aborts)) continue;
    watched[i]->gone = true;
    ++found;
    // Cancels I/O: completions are posted, never run here, so the list stays as it is.
    if (watched[i]->on_gone) watched[i]->on_gone();
  }
  return found;
}

}  // namespace modelgate::proxy
