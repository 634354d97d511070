#include "proxy/health/dns_discovery.hpp"

#include "proxy/health/dns_slots.hpp"
#include "proxy/observe/log_escaped.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

namespace modelgate::proxy {
namespace {

constexpr auto tok = boost::asio::as_tuple(boost::asio::use_awaitable);
using tcp = boost::asio::ip::tcp;

std::vector<std::string> addresses_of(const tcp::resolver::results_type& results) {
  std::vector<std::string> out;
  for (const auto& entry : results) out.push_back(entry.endpoint().address().to_string());
  return out;
}

}  // namespace

dns_discovery::dns_discovery(boost::asio::io_context& io, std::shared_ptr<runtime_state> state)
    : io_(io), state_(std::move(state)) {
  for (std::size_t p = 0; p < state_->cfg.pools.size(); ++p) {
    const auto& backends = state_->cfg.pools[p].backends;
    for (std::size_t b = 0; b < backends.size(); ++b)  // managed replica slots are not names
      if (backends[b].slots > 0 && !backends[b].managed && backends[b].slot == 0)
        groups_.push_back({p, b, backends[b].slots});
  }
}

dns_discovery::~dns_discovery() { *stopped_ = true; }

void dns_discovery::resolve_now() {
  tcp::resolver resolver(io_);
  for (const auto& g : groups_) {
    const auto& address = state_->cfg.pools[g.pool].backends[g.first].address;
    boost::system::error_code ec;
    auto results = resolver.resolve(address.host, std::to_string(address.port), ec);
    if (ec) {
      spdlog::warn("pool {}: cannot resolve {} yet ({}); retrying every {} ms",
                   state_->cfg.pools[g.pool].name, address.str(), ec.message(),
                   state_->cfg.pools[g.pool].dns_refresh.count());
      continue;
    }
    apply(g, addresses_of(results));
  }
}

void dns_discovery::start() {
  for (const auto& g : groups_)
    boost::asio::co_spawn(io_, refresh_loop(g), log_escaped("dns refresh loop failed"));
}

void dns_discovery::stop() { *stopped_ = true; }

boost::asio::awaitable<void> dns_discovery::refresh_loop(name_group g) {
  auto stopped = stopped_;
  auto state = state_;  // the generation's config stays valid as long as this loop runs
  const auto& pool = state->cfg.pools[g.pool];
  const auto& address = pool.backends[g.first].address;
  tcp::resolver resolver(io_);
  boost::asio::steady_timer timer(io_);
  bool failing = false;
  while (!*stopped) {
    timer.expires_after(pool.dns_refresh);
    co_await timer.async_wait(tok);
    if (*stopped) co_return;
    auto [ec, results] = co_await resolver.async_resolve(address.host, std::to_string(address.port), tok);
    if (*stopped) co_return;
    if (ec) {
      // Keep the last known addresses: a DNS hiccup must not empty the pool.
      if (!failing) spdlog::warn("pool {}: resolving {} failed: {}", pool.name, address.str(), ec.message());
      failing = true;
      continue;
    }
    failing = false;
    apply(g, addresses_of(results));
  }
}

void dns_discovery::apply(const name_group& g, std::vector<std::string> resolved) {
  auto& live = state_->pool(g.pool);
  const auto& pool = state_->cfg.pools[g.pool];
  auto addresses = preferred_addresses(std::move(resolved));
  std::vector<std::string> current;
  for (std::size_t s = 0; s < g.slots; ++s) current.push_back(live.slot_address(g.first + s).ip);
  auto next = assign_slots(current, addresses);
  if (addresses.size() > g.slots)
    spdlog::warn("pool {}: {} has {} addresses, max_addresses is {}: {} left out", pool.name,
                 pool.backends[g.first].address.str(), addresses.size(), g.slots,
                 addresses.size() - g.slots);
  for (std::size_t s = 0; s < g.slots; ++s) {
    if (!live.set_slot_address(g.first + s, next[s])) continue;
    const auto& label = pool.backends[g.first + s].label();
    if (next[s].empty()) spdlog::info("pool {}: backend {} has no address now", pool.name, label);
    else spdlog::info("pool {}: backend {} is {}", pool.name, label, next[s]);
  }
}

}  // namespace modelgate::proxy
