// The Redis store against a real redis-server on a free 127.0.0.1 port: a shared limit across
// clients, NOSCRIPT recovery, timeouts, failure and recovery when Redis goes away and comes back.
#include "proxy/quota/quota_gate.hpp"
#include "proxy/quota/redis_store.hpp"
#include "proxy/quota/store_error.hpp"

#include "tests/support/child_process.hpp"
#include "tests/support/find_program.hpp"
#include "tests/support/ports.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/wait.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <sstream>

namespace modelgate::quota {
namespace {

namespace asio = boost::asio;
namespace ts = modelgate::test_support;
using namespace std::chrono_literals;
using boost::system::error_code;
using steady = std::chrono::steady_clock;

// Runs one coroutine to completion on `ioc` and returns its result.
template <class T>
T run(asio::io_context& ioc, asio::awaitable<T> op) {
  std::optional<T> out;
  std::exception_ptr failure;
  asio::co_spawn(ioc, std::move(op), [&](std::exception_ptr e, T v) {
    failure = e;
    out = std::move(v);
  });
  ioc.restart();
  ioc.run();
  if (failure) std::rethrow_exception(failure);
  return std::move(*out);
}

// One command on a fresh connection; the reply, or nullopt on any failure.
asio::awaitable<std::optional<redis_reply>> one_command(std::uint16_t port,
                                                        std::vector<std::string_view> args) {
  redis_connection c(co_await asio::this_coro::executor);
  const auto deadline = steady::now() + 1s;
  if (co_await c.connect("127.0.0.1", port, deadline)) co_return std::nullopt;
  auto [ec, reply] = co_await c.call(args, deadline);
  if (ec) co_return std::nullopt;
  co_return reply;
}

// A redis-server child on 127.0.0.1:port with persistence off; killed on destruction.
class redis_server {
 public:
  redis_server(const std::filesystem::path& bin, const ts::temp_dir& dir, std::uint16_t port)
      : bin_(bin), dir_(dir), port_(port) {
    start();
  }

  void start() {
    child_.emplace(std::vector<std::string>{bin_.string(), "--port", std::to_string(port_),
                                            "--bind", "127.0.0.1", "--save", "", "--appendonly",
                                            "no", "--dir", dir_.path().string()},
                   ts::child_io{{}, dir_.file("redis.out"), dir_.file("redis.err")});
    ready_ = ts::eventually([&] { return ping(); }, 10s);
  }

  void stop() { child_.reset(); }
  void signal(int sig) { child_->signal(sig); }
  bool ready() const { return ready_; }
  std::uint16_t port() const { return port_; }

  std::optional<redis_reply> command(std::vector<std::string_view> args) {
    asio::io_context ioc;
    return run(ioc, one_command(port_, std::move(args)));
  }

  bool ping() {
    auto r = command({"PING"});
    return r && r->str == "PONG";
  }

 private:
  std::filesystem::path bin_;
  const ts::temp_dir& dir_;
  std::uint16_t port_;
  std::optional<ts::child_process> child_;
  bool ready_ = false;
};

class RedisStore : public ::testing::Test {
 protected:
  void SetUp() override {
    auto bin = ts::find_program("redis-server");
    if (!bin) GTEST_SKIP() << "redis-server not installed";
    server_.emplace(*bin, dir_, ts::unused_port());
    ASSERT_TRUE(server_->ready()) << ts::read_file(dir_.file("redis.out"));
  }

  redis_store_options options() const {
    redis_store_options o;
    o.port = server_->port();
    o.timeout = 200ms;
    o.reconnect_backoff = 100ms;
    return o;
  }

  static quota_limits requests(double rps, std::uint64_t burst) {
    quota_limits q;
    q.requests_per_second = rps;
    q.burst = burst;
    return q;
  }

  ts::temp_dir dir_;
  std::optional<redis_server> server_;
};

TEST_F(RedisStore, TwoClientsEnforceOneRateLimitTogether) {
  asio::io_context ioc_a, ioc_b;
  redis_store a(ioc_a.get_executor(), options());
  redis_store b(ioc_b.get_executor(), options());
  ASSERT_FALSE(run(ioc_a, a.start()));
  // Burst 10, then one request per 100 s: nothing refills while the test runs.
  const auto q = requests(0.01, 10);
  int admitted = 0;
  int rejected = 0;
  for (int i = 0; i < 30; ++i) {
    auto [store, ioc] = i % 2 ? std::tie(b, ioc_b) : std::tie(a, ioc_a);
    auto [ec, d] = run(ioc, store.admit("team-a", q, 0));
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_TRUE(d.requests);
    EXPECT_EQ(d.requests->limit, 10u);
    if (d.admitted()) {
      ++admitted;
      EXPECT_EQ(d.requests->remaining, static_cast<std::uint64_t>(10 - admitted));
    } else {
      ++rejected;
      EXPECT_EQ(d.rejected, reject_reason::rate);
      EXPECT_GT(d.retry_after, 99s);
      EXPECT_LE(d.retry_after, 100s);
      EXPECT_EQ(d.requests->remaining, 0u);
    }
  }
  EXPECT_EQ(admitted, 10);  // not 20: the limit is shared
  EXPECT_EQ(rejected, 20);
  // Another key id has its own budget.
  auto [ec, d] = run(ioc_b, b.admit("team-b", q, 0));
  EXPECT_FALSE(ec);
  EXPECT_TRUE(d.admitted());
  EXPECT_EQ(a.stats().errors + b.stats().errors, 0u);
}

TEST_F(RedisStore, TokenReservationsAndRefundsAreShared) {
  asio::io_context ioc;
  redis_store a(ioc.get_executor(), options());
  redis_store b(ioc.get_executor(), options());
  quota_limits q;
  q.tokens_per_minute = 1000;
  for (int i = 0; i < 3; ++i) {
    auto& s = i % 2 ? b : a;
    auto [ec, d] = run(ioc, s.admit("k", q, 300));
    ASSERT_FALSE(ec);
    EXPECT_TRUE(d.admitted()) << i;
    EXPECT_FALSE(d.requests);
  }
  auto [ec, d] = run(ioc, b.admit("k", q, 300));
  ASSERT_FALSE(ec);
  EXPECT_EQ(d.rejected, reject_reason::tokens);
  ASSERT_TRUE(d.tokens);
  EXPECT_EQ(d.tokens->limit, 1000u);
  EXPECT_LE(d.tokens->remaining, 100u);
  EXPECT_GT(d.retry_after, 10s);  // 200 tokens at 60 ms each, minus what refilled meanwhile
  EXPECT_LE(d.retry_after, 12s);
  // One response used only 20 of its 300: 280 come back, and the next reservation fits.
  auto [rec, st] = run(ioc, a.reconcile("k", q, 300, 20));
  ASSERT_FALSE(rec);
  ASSERT_TRUE(st);
  EXPECT_GE(st->remaining, 380u);
  auto [ec2, d2] = run(ioc, b.admit("k", q, 300));
  EXPECT_FALSE(ec2);
  EXPECT_TRUE(d2.admitted());
  // Overcharge: 5000 used where 300 were reserved; the budget is in debt for minutes.
  std::tie(rec, st) = run(ioc, a.reconcile("k", q, 300, 5000));
  EXPECT_EQ(st->remaining, 0u);
  EXPECT_GT(st->reset, 5min);
  std::tie(ec2, d2) = run(ioc, a.admit("k", q, 1));
  EXPECT_EQ(d2.rejected, reject_reason::tokens);
}

TEST_F(RedisStore, NoscriptAfterScriptFlushReloadsByItself) {
  asio::io_context ioc;
  redis_store s(ioc.get_executor(), options());
  const auto q = requests(1000, 1000);
  auto [ec, d] = run(ioc, s.admit("k", q, 0));
  ASSERT_FALSE(ec);
  const auto loads = s.stats().script_loads.load();
  auto flushed = server_->command({"SCRIPT", "FLUSH"});
  ASSERT_TRUE(flushed);
  EXPECT_EQ(flushed->str, "OK");
  std::tie(ec, d) = run(ioc, s.admit("k", q, 0));
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_TRUE(d.admitted());
  EXPECT_EQ(s.stats().noscript, 1u);
  EXPECT_EQ(s.stats().script_loads, loads + 2);
  EXPECT_EQ(s.stats().errors, 0u);
  std::tie(ec, d) = run(ioc, s.admit("k", q, 0));
  EXPECT_FALSE(ec);
  EXPECT_EQ(s.stats().noscript, 1u);
}

TEST_F(RedisStore, StoppedRedisFailsFastAndRecoversWhenBack) {
  asio::io_context ioc;
  auto o = options();
  redis_store s(ioc.get_executor(), o);
  const auto q = requests(1000, 1000);
  ASSERT_FALSE(std::get<0>(run(ioc, s.admit("k", q, 0))));
  server_->stop();
  // The pooled connection is dead and nothing listens: an error, well within the call timeout.
  auto t = steady::now();
  auto [ec, d] = run(ioc, s.admit("k", q, 0));
  auto took = steady::now() - t;
  EXPECT_TRUE(ec == store_errc::connect_failed || ec == store_errc::disconnected) << ec.message();
  EXPECT_LT(took, o.timeout);
  // Within the backoff the store does not even try.
  t = steady::now();
  std::tie(ec, d) = run(ioc, s.admit("k", q, 0));
  EXPECT_EQ(ec, store_errc::backing_off);
  EXPECT_LT(steady::now() - t, 20ms);
  EXPECT_GE(s.stats().errors, 2u);
  // Redis comes back on the same port: the store reconnects and reloads scripts by itself.
  server_->start();
  ASSERT_TRUE(server_->ready());
  EXPECT_TRUE(ts::eventually([&] { return !std::get<0>(run(ioc, s.admit("k", q, 0))); }, 5s));
  std::tie(ec, d) = run(ioc, s.admit("k", q, 0));
  EXPECT_FALSE(ec);
  EXPECT_TRUE(d.admitted());
}

TEST_F(RedisStore, UnresponsiveRedisTimesOutWithinTheDeadline) {
  asio::io_context ioc;
  auto o = options();
  o.timeout = 100ms;
  redis_store s(ioc.get_executor(), o);
  const auto q = requests(1000, 1000);
  ASSERT_FALSE(std::get<0>(run(ioc, s.admit("k", q, 0))));
  server_->signal(SIGSTOP);  // accepts nothing, answers nothing
  auto t = steady::now();
  auto [ec, d] = run(ioc, s.admit("k", q, 0));
  auto took = steady::now() - t;
  server_->signal(SIGCONT);
  EXPECT_EQ(ec, store_errc::timeout) << ec.message();
  EXPECT_GE(took, 90ms);
  EXPECT_LT(took, 300ms);
  EXPECT_EQ(s.stats().timeouts, 1u);
  EXPECT_TRUE(ts::eventually([&] { return !std::get<0>(run(ioc, s.admit("k", q, 0))); }, 5s));
}

TEST_F(RedisStore, NothingListeningIsAConnectFailure) {
  asio::io_context ioc;
  auto o = options();
  o.port = ts::unused_port();
  redis_store s(ioc.get_executor(), o);
  auto [ec, d] = run(ioc, s.admit("k", requests(1, 1), 0));
  EXPECT_EQ(ec, store_errc::connect_failed);
  EXPECT_EQ(s.stats().errors, 1u);
  EXPECT_EQ(run(ioc, s.start()), store_errc::backing_off);
}

TEST_F(RedisStore, HostNamesAreResolved) {
  asio::io_context ioc;
  auto o = options();
  o.host = "localhost";
  redis_store s(ioc.get_executor(), o);
  auto [ec, d] = run(ioc, s.admit("k", requests(1, 1), 0));
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_TRUE(d.admitted());
}

TEST_F(RedisStore, PoolLendsItsConnectionsToWaitingCalls) {
  asio::io_context ioc;
  auto o = options();
  o.pool_size = 2;
  redis_store s(ioc.get_executor(), o);
  const auto q = requests(1000, 1000);
  int done = 0;
  int errors = 0;
  for (int i = 0; i < 20; ++i) {
    asio::co_spawn(ioc, s.admit("k", q, 0), [&](std::exception_ptr e, std::tuple<error_code, decision> r) {
      ++done;
      if (e || std::get<0>(r) || !std::get<1>(r).admitted()) ++errors;
    });
  }
  ioc.run();
  EXPECT_EQ(done, 20);
  EXPECT_EQ(errors, 0);
  EXPECT_EQ(s.stats().connects, 2u);
  EXPECT_EQ(s.stats().calls, 20u);
}

TEST_F(RedisStore, UnlimitedKeysNeedNoRoundTrip) {
  asio::io_context ioc;
  auto o = options();
  o.port = ts::unused_port();  // would fail if it were contacted
  redis_store s(ioc.get_executor(), o);
  auto [ec, d] = run(ioc, s.admit("k", quota_limits{}, 100));
  EXPECT_FALSE(ec);
  EXPECT_TRUE(d.admitted());
  auto [rec, st] = run(ioc, s.reconcile("k", requests(1, 1), 10, 20));
  EXPECT_FALSE(rec);
  EXPECT_FALSE(st);
  EXPECT_EQ(s.stats().calls, 0u);
}

TEST_F(RedisStore, GateFollowsOnErrorWhenRedisIsDown) {
  asio::io_context ioc;
  redis_store shared(ioc.get_executor(), options());
  local_store local;
  quota_gate allow(local, &shared, on_store_error::allow);
  quota_gate deny(local, &shared, on_store_error::deny);
  api_key key;
  key.id = "k";
  key.quota = requests(0.01, 2);
  key.quota.tokens_per_minute = 1000;
  const auto now = clock::now();
  // Redis up: decided there, and the reservation is settled there.
  auto t = run(ioc, allow.admit(key, 100, now));
  ASSERT_TRUE(t.verdict.admitted());
  EXPECT_TRUE(t.shared);
  auto st = run(ioc, allow.settle(t, 40, now));
  ASSERT_TRUE(st);
  EXPECT_GE(st->remaining, 960u);
  t.permit.release();
  server_->stop();
  // allow: the local limiter still applies (burst 2 here, counted from zero locally).
  auto a1 = run(ioc, allow.admit(key, 1, now));
  auto a2 = run(ioc, allow.admit(key, 1, now));
  auto a3 = run(ioc, allow.admit(key, 1, now));
  EXPECT_TRUE(a1.verdict.admitted());
  EXPECT_TRUE(a1.fell_back);
  EXPECT_TRUE(a2.verdict.admitted());
  EXPECT_EQ(a3.verdict.rejected, reject_reason::rate);
  EXPECT_EQ(allow.store_errors(), 3u);
  // deny: 503 with Retry-After, and the in-flight slot is not kept.
  auto d = run(ioc, deny.admit(key, 1, now));
  EXPECT_EQ(d.verdict.rejected, reject_reason::unavailable);
  EXPECT_EQ(http_status(*d.verdict.rejected), 503u);
  EXPECT_FALSE(d.permit);
  EXPECT_EQ(deny.store_errors(), 1u);
  // Redis back: the gate uses it again by itself.
  server_->start();
  ASSERT_TRUE(server_->ready());
  EXPECT_TRUE(ts::eventually([&] { return run(ioc, deny.admit(key, 1, now)).shared; }, 5s));
}

}  // namespace
}  // namespace modelgate::quota
