// The request-path entry point without Redis: 401/403, admission with headers, concurrency
// release, settling token reservations. Coroutines run on an io_context that does no I/O.
#include "proxy/quota/quota_gate.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

namespace modelgate::quota {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

const clock::time_point t0 = clock::time_point{} + 1000s;

template <class T>
T run(asio::awaitable<T> op) {
  asio::io_context ioc;
  std::optional<T> out;
  asio::co_spawn(ioc, std::move(op), [&](std::exception_ptr e, T v) {
    if (e) std::rethrow_exception(e);
    out = std::move(v);
  });
  ioc.run();
  return std::move(*out);
}

key_table table() {
  api_key a;
  a.id = "team-a";
  a.digest = sha256("sk-a");
  a.routes = {"/v1/"};
  a.quota = {1, 2, 1, 600};  // 1 rps, burst 2, 1 in flight, 600 tokens/min (100 ms per token)
  api_key b;
  b.id = "team-b";
  b.digest = sha256("sk-b");
  return key_table({a, b});
}

TEST(Authenticate, UnauthorizedForbiddenAndAllowed) {
  const auto keys = table();
  auto r = authenticate(keys, "", "", "/v1/chat", std::nullopt);
  EXPECT_FALSE(r.key);
  EXPECT_EQ(r.rejection->rejected, reject_reason::unauthorized);
  r = authenticate(keys, "Bearer sk-nope", "", "/v1/chat", std::nullopt);
  EXPECT_EQ(r.rejection->rejected, reject_reason::unauthorized);
  r = authenticate(keys, "Bearer sk-a", "", "/admin", std::nullopt);
  EXPECT_EQ(r.rejection->rejected, reject_reason::forbidden);
  r = authenticate(keys, "", "sk-a", "/v1/chat", std::nullopt);
  ASSERT_TRUE(r.key);
  EXPECT_EQ(r.key->id, "team-a");
  EXPECT_FALSE(r.rejection);
  r = authenticate(keys, "Bearer sk-b", "", "/anything", "any-model");
  EXPECT_EQ(r.key->id, "team-b");
}

TEST(QuotaGate, LocalAdmissionConcurrencyAndRate) {
  local_store local;
  quota_gate gate(local, nullptr, on_store_error::deny);
  const auto keys = table();
  const auto& a = *keys.find_id("team-a");
  auto first = run(gate.admit(a, 10, t0));
  ASSERT_TRUE(first.verdict.admitted());
  EXPECT_FALSE(first.shared);
  EXPECT_EQ(first.reserved_tokens, 10u);
  EXPECT_EQ(first.verdict.requests, (limit_status{2, 1, 1s}));
  EXPECT_EQ(first.verdict.tokens, (limit_status{600, 590, 1s}));
  // One in flight: the second is refused for concurrency and takes nothing.
  auto second = run(gate.admit(a, 10, t0));
  EXPECT_EQ(second.verdict.rejected, reject_reason::concurrency);
  EXPECT_EQ(second.verdict.requests->remaining, 1u);
  EXPECT_FALSE(second.permit);
  first.permit.release();
  auto third = run(gate.admit(a, 10, t0));
  EXPECT_TRUE(third.verdict.admitted());
  third.permit.release();
  auto fourth = run(gate.admit(a, 10, t0));
  EXPECT_EQ(fourth.verdict.rejected, reject_reason::rate);
  EXPECT_EQ(fourth.verdict.retry_after, 1s);
  EXPECT_EQ(local.in_flight("team-a"), 0u);
  EXPECT_EQ(gate.store_errors(), 0u);
}

TEST(QuotaGate, SettleRefundsOnceAndSkipsRejected) {
  local_store local;
  quota_gate gate(local, nullptr, on_store_error::allow);
  const auto keys = table();
  const auto& a = *keys.find_id("team-a");
  auto t = run(gate.admit(a, 300, t0));
  ASSERT_TRUE(t.verdict.admitted());
  auto st = run(gate.settle(t, 100, t0));
  ASSERT_TRUE(st);
  EXPECT_EQ(st->remaining, 500u);
  // Settling again with the same count changes nothing.
  EXPECT_EQ(run(gate.settle(t, 100, t0))->remaining, 500u);
  auto rejected = run(gate.admit(a, 300, t0));  // concurrency: t still holds the permit
  EXPECT_FALSE(rejected.verdict.admitted());
  EXPECT_FALSE(run(gate.settle(rejected, 0, t0)));
  // A key without a token limit has nothing to settle.
  auto b = run(gate.admit(*keys.find_id("team-b"), 300, t0));
  EXPECT_TRUE(b.verdict.admitted());
  EXPECT_EQ(b.reserved_tokens, 0u);
  EXPECT_FALSE(run(gate.settle(b, 1000, t0)));
}

}  // namespace
}  // namespace modelgate::quota
