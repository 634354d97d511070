// The local store: rate + tokens + concurrency per key, atomically; reservations reconciled.
#include "proxy/quota/local_store.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace modelgate::quota {
namespace {

using namespace std::chrono_literals;

const clock::time_point t0 = clock::time_point{} + 1000s;

quota_limits limits(double rps, std::uint64_t burst, std::uint32_t conc, std::uint64_t tpm) {
  quota_limits q;
  q.requests_per_second = rps;
  q.burst = burst;
  q.max_concurrent = conc;
  q.tokens_per_minute = tpm;
  return q;
}

TEST(LocalStore, RateAndBurstPerKey) {
  local_store s;
  const auto q = limits(2, 2, 0, 0);
  EXPECT_TRUE(s.admit("a", q, 0, t0).verdict.admitted());
  auto a = s.admit("a", q, 0, t0);
  EXPECT_TRUE(a.verdict.admitted());
  ASSERT_TRUE(a.verdict.requests);
  EXPECT_EQ(*a.verdict.requests, (limit_status{2, 0, 1s}));
  EXPECT_FALSE(a.verdict.tokens);
  a = s.admit("a", q, 0, t0 + 100ms);
  EXPECT_EQ(a.verdict.rejected, reject_reason::rate);
  EXPECT_EQ(a.verdict.retry_after, 400ms);
  EXPECT_FALSE(a.permit);
  // Another key has its own budget.
  EXPECT_TRUE(s.admit("b", q, 0, t0).verdict.admitted());
  EXPECT_TRUE(s.admit("a", q, 0, t0 + 500ms).verdict.admitted());
  EXPECT_EQ(s.size(), 2u);
}

TEST(LocalStore, UnlimitedKeyAlwaysAdmitsWithoutHeaders) {
  local_store s;
  for (int i = 0; i < 100; ++i) {
    auto a = s.admit("free", quota_limits{}, 500, t0);
    ASSERT_TRUE(a.verdict.admitted());
    EXPECT_FALSE(a.verdict.requests);
    EXPECT_FALSE(a.verdict.tokens);
    EXPECT_EQ(a.reserved_tokens, 0u);
  }
}

TEST(LocalStore, ConcurrencyReleasedOnCompletionAndOnAbort) {
  local_store s;
  const auto q = limits(0, 0, 2, 0);
  auto first = s.admit("a", q, 0, t0);
  {
    auto second = s.admit("a", q, 0, t0);
    ASSERT_TRUE(second.verdict.admitted());
    EXPECT_EQ(s.in_flight("a"), 2u);
    auto third = s.admit("a", q, 0, t0);
    EXPECT_EQ(third.verdict.rejected, reject_reason::concurrency);
    EXPECT_EQ(third.verdict.retry_after, 1s);
    EXPECT_EQ(s.in_flight("a"), 2u);  // the refused one holds nothing
    // `second` goes out of scope: a client that disconnected mid-request.
  }
  EXPECT_EQ(s.in_flight("a"), 1u);
  first.permit.release();  // response complete
  EXPECT_EQ(s.in_flight("a"), 0u);
  EXPECT_TRUE(s.admit("a", q, 0, t0).verdict.admitted());
}

TEST(LocalStore, RateRefusalReleasesThePermitItTook) {
  local_store s;
  const auto q = limits(1, 1, 5, 0);
  auto ok = s.admit("a", q, 0, t0);
  ASSERT_TRUE(ok.verdict.admitted());
  auto no = s.admit("a", q, 0, t0);
  EXPECT_EQ(no.verdict.rejected, reject_reason::rate);
  EXPECT_EQ(s.in_flight("a"), 1u);
}

TEST(LocalStore, TokenReservationAndRefund) {
  local_store s;
  const auto q = limits(0, 0, 0, 6000);  // 100 tokens per second, 10 ms per token
  auto a = s.admit("a", q, 4000, t0);
  ASSERT_TRUE(a.verdict.admitted());
  EXPECT_EQ(a.reserved_tokens, 4000u);
  EXPECT_EQ(a.verdict.tokens->remaining, 2000u);
  EXPECT_FALSE(a.verdict.requests);
  // A second 4000-token request does not fit now: 2000 more must come back, 20 s.
  auto b = s.admit("a", q, 4000, t0);
  EXPECT_EQ(b.verdict.rejected, reject_reason::tokens);
  EXPECT_EQ(b.verdict.retry_after, 20s);
  // The first response used only 1000: 3000 refunded, so the second now fits.
  auto st = s.reconcile("a", q, a.reserved_tokens, 1000, t0);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->remaining, 5000u);
  EXPECT_EQ(st->reset, 10s);
  EXPECT_TRUE(s.admit("a", q, 4000, t0).verdict.admitted());
}

TEST(LocalStore, TokenOverchargeMakesLaterRequestsWait) {
  local_store s;
  const auto q = limits(0, 0, 0, 6000);
  auto a = s.admit("a", q, 100, t0);
  ASSERT_TRUE(a.verdict.admitted());
  // The response used 9000 tokens (no max_tokens given, small default estimate): charged.
  auto st = s.reconcile("a", q, 100, 9000, t0);
  EXPECT_EQ(st->remaining, 0u);
  EXPECT_EQ(st->reset, 90s);
  auto b = s.admit("a", q, 100, t0 + 10s);
  EXPECT_EQ(b.verdict.rejected, reject_reason::tokens);
  EXPECT_EQ(b.verdict.retry_after, 21s);  // the 3000 debt + 100 for this request, 10 ms each
  EXPECT_TRUE(s.admit("a", q, 100, t0 + 31s).verdict.admitted());
  // Exact usage changes nothing.
  auto before = s.peek("a", q, t0 + 31s).tokens;
  EXPECT_EQ(s.reconcile("a", q, 100, 100, t0 + 31s), before);
}

TEST(LocalStore, TokenRefusalDoesNotSpendARequest) {
  local_store s;
  const auto q = limits(1, 1, 0, 60);
  EXPECT_TRUE(s.admit("a", q, 60, t0).verdict.admitted());  // drains the tokens
  // 1 s later the request rate would allow one more, but tokens refuse: the request slot is kept.
  auto a = s.admit("a", q, 10, t0 + 1s);
  EXPECT_EQ(a.verdict.rejected, reject_reason::tokens);
  EXPECT_EQ(a.verdict.retry_after, 9s);
  EXPECT_EQ(a.verdict.requests->remaining, 1u);
  // With both refusing, the reason is rate and the wait the longer of the two.
  EXPECT_TRUE(s.admit("b", q, 30, t0).verdict.admitted());
  auto b = s.admit("b", q, 60, t0 + 100ms);
  EXPECT_EQ(b.verdict.rejected, reject_reason::rate);
  EXPECT_EQ(b.verdict.retry_after, 29900ms);
}

TEST(LocalStore, ReconcileWithoutTokenLimitIsANoOp) {
  local_store s;
  EXPECT_FALSE(s.reconcile("a", limits(5, 5, 0, 0), 100, 200, t0));
}

TEST(LocalStore, CheckRateAndTokensIsTheFallbackPath) {
  local_store s;
  const auto q = limits(10, 1, 1, 0);
  auto held = s.acquire_concurrency("a", q);
  ASSERT_TRUE(held);
  EXPECT_FALSE(s.acquire_concurrency("a", q));
  // Rate check works while the in-flight slot is held elsewhere.
  EXPECT_TRUE(s.check_rate_and_tokens("a", q, 0, t0).admitted());
  EXPECT_EQ(s.check_rate_and_tokens("a", q, 0, t0).rejected, reject_reason::rate);
}

TEST(LocalStore, ForgetDropsStateButNotPermits) {
  local_store s;
  const auto q = limits(1, 1, 1, 0);
  auto a = s.admit("a", q, 0, t0);
  s.forget("a");
  EXPECT_EQ(s.size(), 0u);
  EXPECT_TRUE(s.admit("a", q, 0, t0).verdict.admitted());  // fresh state
  a.permit.release();                                      // still safe after forget
}

TEST(LocalStore, ThreadsShareOneLimitExactly) {
  local_store s;
  const auto q = limits(1, 1000, 0, 0);
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) admitted += s.admit("shared", q, 0, t0).verdict.admitted();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(admitted.load(), 1000);
}

}  // namespace
}  // namespace modelgate::quota
