// Cost of a quota check on the request path: key lookup (SHA-256 + index), the local store's
// admit (concurrency + rate + tokens), the gate's local path, and one Redis EVALSHA round trip.
// The Redis case runs only when MODELGATE_BENCH_REDIS=host:port names a running redis-server:
//   redis-server --port 6390 --save "" --appendonly no &
//   MODELGATE_BENCH_REDIS=127.0.0.1:6390 build/tests/bench/modelgate_quota_bench
// Numbers go to docs/quota.md ("Measured cost") with the command that made them.

#include "proxy/quota/key_table.hpp"
#include "proxy/quota/local_store.hpp"
#include "proxy/quota/quota_gate.hpp"
#include "proxy/quota/redis_store.hpp"

#include <benchmark/benchmark.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdlib>
#include <string>

namespace asio = boost::asio;
using namespace modelgate::quota;

namespace {

quota_limits wide_limits() {
  quota_limits q;
  q.requests_per_second = 1e9;  // never refuses: measures the check, not the refusal
  q.burst = 1'000'000'000;
  q.max_concurrent = 1000;
  q.tokens_per_minute = 1'000'000'000'000;
  return q;
}

key_table table_of(std::size_t n) {
  std::vector<api_key> keys;
  for (std::size_t i = 0; i < n; ++i)
    keys.push_back(
        api_key{"key-" + std::to_string(i), sha256("sk-" + std::to_string(i)), {}, wide_limits()});
  return key_table(std::move(keys));
}

void key_lookup_1000_keys(benchmark::State& state) {
  auto table = table_of(1000);
  for (auto _ : state) benchmark::DoNotOptimize(table.find("sk-517"));
}
BENCHMARK(key_lookup_1000_keys);

void local_store_admit(benchmark::State& state) {
  local_store store;
  const auto limits = wide_limits();
  auto now = clock::now();
  for (auto _ : state) {
    now += std::chrono::microseconds(1);
    auto a = store.admit("team-a", limits, 100, now);
    benchmark::DoNotOptimize(a.verdict.rejected);
  }
}
BENCHMARK(local_store_admit);

// The request path's local check as exchange.cpp runs it: gate.admit (a coroutine) + settle.
void quota_gate_local_admit_and_settle(benchmark::State& state) {
  local_store store;
  quota_gate gate(store, nullptr, on_store_error::allow);
  api_key key{"team-a", sha256("sk-a"), {}, wide_limits()};
  asio::io_context io;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        for (auto _ : state) {
          auto t = co_await gate.admit(key, 100, clock::now());
          co_await gate.settle(t, 90, clock::now());
        }
      },
      asio::detached);
  io.run();
}
BENCHMARK(quota_gate_local_admit_and_settle);

void redis_store_admit(benchmark::State& state) {
  const char* addr = std::getenv("MODELGATE_BENCH_REDIS");
  if (!addr) {
    state.SkipWithError("set MODELGATE_BENCH_REDIS=host:port to a running redis-server");
    return;
  }
  std::string text(addr);
  redis_store_options o;
  o.host = text.substr(0, text.rfind(':'));
  o.port = static_cast<std::uint16_t>(std::stoi(text.substr(text.rfind(':') + 1)));
  o.timeout = std::chrono::milliseconds(1000);
  o.key_prefix = "modelgate:bench";
  asio::io_context io;
  redis_store store(io.get_executor(), o);
  const auto limits = wide_limits();
  std::uint64_t errors = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await store.start();
        for (auto _ : state) {
          auto [ec, d] = co_await store.admit("team-a", limits, 100);
          errors += ec ? 1 : 0;
          benchmark::DoNotOptimize(d.rejected);
        }
      },
      asio::detached);
  io.run();
  if (errors) state.SkipWithError("Redis calls failed");
}
BENCHMARK(redis_store_admit)->UseRealTime();

}  // namespace
