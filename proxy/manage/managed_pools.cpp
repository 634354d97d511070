#include "proxy/manage/managed_pools.hpp"

#include "proxy/observe/log_escaped.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace modelgate::proxy {
namespace asio = boost::asio;
namespace {

asio::awaitable<void> stop_and_forget(std::shared_ptr<pool_supervisor> sup,
                                      std::vector<std::shared_ptr<pool_supervisor>>& retiring) {
  co_await sup->stop();
  std::erase(retiring, sup);
}

}  // namespace

managed_pools::plan managed_pools::plan_for(const runtime_state& st) {
  plan p;
  for (std::size_t i = 0; i < st.pools.size(); ++i) {
    const auto& managed = st.cfg.pools[i].managed;
    if (!managed) continue;
    auto same = std::find_if(running_.begin(), running_.end(),
                             [&](const auto& s) { return s->live_ptr() == st.pools[i]; });
    if (same != running_.end()) {
      p.next.push_back(*same);
      continue;
    }
    auto fresh = std::make_shared<pool_supervisor>(io_, st.pools[i], registry_);
    auto predecessor = std::find_if(running_.begin(), running_.end(),
                                    [&](const auto& s) { return s->name() == fresh->name(); });
    unsigned initial = managed->min_replicas;
    if (predecessor != running_.end()) {
      fresh->set_reporting(false);  // the predecessor reports until the swap
      initial = std::clamp((*predecessor)->desired(), managed->min_replicas, managed->max_replicas);
    }
    if (started_) fresh->start(initial);
    pending_.push_back(fresh);
    p.next.push_back(fresh);
    p.fresh.push_back({fresh, initial});
  }
  return p;
}

asio::awaitable<std::optional<std::string>> managed_pools::await_ready(
    const plan& p, std::vector<std::string>& warnings, const std::atomic<bool>& draining) {
  auto timeout = std::chrono::milliseconds(0);
  for (const auto& f : p.fresh) timeout = std::max(timeout, f.supervisor->managed().ready_timeout);
  // A little past the timeout: a replica not ready by then has been killed and counted.
  const auto deadline = std::chrono::steady_clock::now() + timeout + std::chrono::seconds(1);
  auto all_ready = [&] {
    return std::all_of(p.fresh.begin(), p.fresh.end(),
                       [](const auto& f) { return f.supervisor->ready_count() >= f.initial; });
  };
  asio::steady_timer pause(io_);
  while (!all_ready() && std::chrono::steady_clock::now() < deadline) {
    if (draining.load()) co_return std::string("the proxy is draining");
    pause.expires_after(std::chrono::milliseconds(50));
    co_await pause.async_wait(asio::use_awaitable);
  }
  for (const auto& f : p.fresh) {
    const auto ready = f.supervisor->ready_count();
    if (ready >= f.initial) continue;
    if (ready == 0)
      co_return "pool " + f.supervisor->name() + ": no replica became ready within " +
          std::to_string(timeout.count()) + " ms (its replicas' errors are in the log)";
    warnings.push_back("pool " + f.supervisor->name() + ": " + std::to_string(ready) + " of " +
                       std::to_string(f.initial) + " replicas ready; the others are still starting");
  }
  co_return std::nullopt;
}

void managed_pools::adopt(const runtime_state& st, plan p) {
  for (std::size_t i = 0; i < st.pools.size(); ++i) {
    if (!st.cfg.pools[i].managed) continue;
    for (auto& s : p.next)
      if (s->live_ptr() == st.pools[i]) s->update(*st.cfg.pools[i].managed);
  }
  for (auto& s : running_) {
    if (std::find(p.next.begin(), p.next.end(), s) != p.next.end()) continue;
    s->set_reporting(false);
    retire(s);
  }
  for (auto& f : p.fresh) f.supervisor->set_reporting(true);
  pending_.clear();
  running_ = std::move(p.next);
}

void managed_pools::abandon(plan p) {
  for (auto& f : p.fresh) retire(f.supervisor);
  pending_.clear();
}

void managed_pools::retire(const std::shared_ptr<pool_supervisor>& s) {
  retiring_.push_back(s);
  asio::co_spawn(io_, stop_and_forget(s, retiring_), log_escaped("retiring a managed pool"));
}

void managed_pools::start() {
  started_ = true;
  for (auto& s : running_) s->start();
}

bool managed_pools::on_exit(pid_t pid, int status) {
  for (auto* list : {&running_, &pending_, &retiring_})
    for (auto& s : *list)
      if (s->on_exit(pid, status)) return true;
  return false;
}

asio::awaitable<void> managed_pools::stop_all() {
  for (auto* list : {&running_, &pending_, &retiring_}) {
    auto copy = *list;
    for (auto& s : copy) co_await s->stop();
  }
}

}  // namespace modelgate::proxy
