#include "proxy/http/upstream_steps.hpp"

#include "proxy/health/load_report.hpp"
#include "proxy/health/retry.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace modelgate::proxy {
namespace asio = boost::asio;

void take_load_report(pool_live& live, std::size_t b, boost::beast::http::response_header<>& res) {
  const auto& name = live.cfg().report.header;
  if (name.empty()) return;
  auto it = res.find(name);
  if (it == res.end()) return;
  if (auto depth = orca_queue_depth(it->value())) live.report_queue(b, *depth, std::chrono::steady_clock::now());
  res.erase(name);
}

asio::awaitable<void> retry_pause(const config::retry_policy& policy, unsigned retry,
                                  std::uint64_t random) {
  auto draw = static_cast<double>(random >> 11) * 0x1.0p-53;
  auto wait = retry_backoff(policy, retry, draw);
  if (wait.count() <= 0) co_return;
  asio::steady_timer timer(co_await asio::this_coro::executor, wait);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

}  // namespace modelgate::proxy
