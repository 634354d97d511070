// GCRA with made-up time points: exact admits for a rate and burst over time, retry_after,
// remaining/reset, debts and refunds.
#include "proxy/quota/gcra.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace modelgate::quota {
namespace {

using namespace std::chrono_literals;

const clock::time_point t0 = clock::time_point{} + 1000s;

TEST(GcraLimit, PerSecondIntervalAndDefaultBurst) {
  auto l = gcra_limit::per_second(10, 0);
  EXPECT_EQ(l.interval, 100ms);
  EXPECT_EQ(l.burst, 10u);
  EXPECT_EQ(gcra_limit::per_second(0.5, 0).interval, 2s);
  EXPECT_EQ(gcra_limit::per_second(0.5, 0).burst, 1u);
  EXPECT_EQ(gcra_limit::per_second(2.5, 0).burst, 3u);
  EXPECT_TRUE(gcra_limit::per_second(0, 5).unlimited());
  EXPECT_EQ(gcra_limit::per_minute(20000).interval, 3ms);
  EXPECT_EQ(gcra_limit::per_minute(20000).burst, 20000u);
  EXPECT_TRUE(gcra_limit::per_minute(0).unlimited());
}

TEST(Gcra, BurstThenExactlyTheRate) {
  const auto l = gcra_limit::per_second(10, 3);
  gcra g;
  // The burst: 3 at once, then refused.
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(g.try_take(l, 1, t0).admitted) << i;
  auto r = g.try_take(l, 1, t0);
  EXPECT_FALSE(r.admitted);
  EXPECT_EQ(r.retry_after, 100ms);
  EXPECT_EQ(r.remaining, 0u);
  EXPECT_EQ(r.reset, 300ms);
  // 1 ns early is still too early; at exactly +100 ms one more passes, and only one.
  r = g.try_take(l, 1, t0 + 100ms - 1ns);
  EXPECT_FALSE(r.admitted);
  EXPECT_EQ(r.retry_after, 1ns);
  EXPECT_TRUE(g.try_take(l, 1, t0 + 100ms).admitted);
  EXPECT_FALSE(g.try_take(l, 1, t0 + 100ms).admitted);
  // Over the next 10 s of requests every 10 ms, exactly 100 are admitted (one per 100 ms).
  int admitted = 0;
  for (auto t = t0 + 110ms; t < t0 + 10s + 110ms; t += 10ms) admitted += g.try_take(l, 1, t).admitted;
  EXPECT_EQ(admitted, 100);
}

TEST(Gcra, RefillsToBurstAfterIdleAndNoMore) {
  const auto l = gcra_limit::per_second(4, 2);
  gcra g;
  EXPECT_TRUE(g.try_take(l, 1, t0).admitted);
  EXPECT_TRUE(g.try_take(l, 1, t0).admitted);
  EXPECT_FALSE(g.try_take(l, 1, t0).admitted);
  // An hour idle still gives only the burst back.
  const auto later = t0 + 1h;
  auto r = g.check(l, 0, later);
  EXPECT_EQ(r.remaining, 2u);
  EXPECT_EQ(r.reset, 0ns);
  EXPECT_TRUE(g.try_take(l, 1, later).admitted);
  r = g.try_take(l, 1, later);
  EXPECT_TRUE(r.admitted);
  EXPECT_EQ(r.remaining, 0u);
  EXPECT_EQ(r.reset, 500ms);
  EXPECT_FALSE(g.try_take(l, 1, later).admitted);
}

TEST(Gcra, RemainingCountsDownAndResetGrows) {
  const auto l = gcra_limit::per_second(1, 5);
  gcra g;
  for (std::uint64_t i = 1; i <= 5; ++i) {
    auto r = g.try_take(l, 1, t0);
    ASSERT_TRUE(r.admitted);
    EXPECT_EQ(r.remaining, 5 - i);
    EXPECT_EQ(r.reset, std::chrono::seconds(i));
  }
  // Half an interval later nothing is back yet; a full interval gives one.
  EXPECT_EQ(g.check(l, 0, t0 + 500ms).remaining, 0u);
  EXPECT_EQ(g.check(l, 0, t0 + 1s).remaining, 1u);
  EXPECT_EQ(g.check(l, 1, t0 + 500ms).retry_after, 500ms);
}

TEST(Gcra, CheckDoesNotTakeAndDeniedTakeChangesNothing) {
  const auto l = gcra_limit::per_second(1, 1);
  gcra g;
  EXPECT_TRUE(g.check(l, 1, t0).admitted);
  EXPECT_TRUE(g.check(l, 1, t0).admitted);
  EXPECT_TRUE(g.try_take(l, 1, t0).admitted);
  const auto tat = g.tat();
  EXPECT_FALSE(g.try_take(l, 1, t0 + 10ms).admitted);
  EXPECT_EQ(g.tat(), tat);
}

TEST(Gcra, MultiUnitTakesAndLargerThanBurstLeavesDebt) {
  const auto l = gcra_limit::per_minute(600);  // 100 ms per unit, burst 600
  gcra g;
  auto r = g.try_take(l, 500, t0);
  EXPECT_TRUE(r.admitted);
  EXPECT_EQ(r.remaining, 100u);
  // 200 more do not fit: 100 units must come back first = 10 s.
  r = g.try_take(l, 200, t0);
  EXPECT_FALSE(r.admitted);
  EXPECT_EQ(r.retry_after, 10s);
  // A take bigger than the whole burst passes from a full bucket and leaves a debt.
  gcra big;
  r = big.try_take(l, 1000, t0);
  EXPECT_TRUE(r.admitted);
  EXPECT_EQ(r.remaining, 0u);
  EXPECT_EQ(r.reset, 100s);
  // Nothing (not even 1 unit) until the debt of 400 is paid and 1 unit refilled: 40.1 s.
  r = big.try_take(l, 1, t0 + 40s);
  EXPECT_FALSE(r.admitted);
  EXPECT_EQ(r.retry_after, 100ms);
  EXPECT_TRUE(big.try_take(l, 1, t0 + 40s + 100ms).admitted);
}

TEST(Gcra, AdjustRefundsAndCharges) {
  const auto l = gcra_limit::per_minute(60);  // 1 s per token
  gcra g;
  EXPECT_TRUE(g.try_take(l, 50, t0).admitted);
  // Refund 30: 40 remaining.
  auto r = g.adjust(l, -30, t0);
  EXPECT_EQ(r.remaining, 40u);
  EXPECT_EQ(r.reset, 20s);
  // A refund never goes past a full bucket.
  r = g.adjust(l, -1000, t0);
  EXPECT_EQ(r.remaining, 60u);
  EXPECT_EQ(g.tat(), t0);
  // Charge 100 (more than the limit): in debt, refused until it is paid back.
  r = g.adjust(l, 100, t0);
  EXPECT_EQ(r.remaining, 0u);
  EXPECT_EQ(r.reset, 100s);
  EXPECT_EQ(g.check(l, 1, t0 + 40s).retry_after, 1s);
  EXPECT_TRUE(g.check(l, 1, t0 + 41s).admitted);
}

TEST(Gcra, UnlimitedAlwaysAdmits) {
  gcra g;
  const gcra_limit none;
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(g.try_take(none, 1, t0).admitted);
  EXPECT_EQ(g.tat(), clock::time_point{});
}

TEST(Gcra, HugeCountsSaturateInsteadOfWrapping) {
  const auto l = gcra_limit::per_minute(1);  // 60 s per unit
  gcra g;
  auto r = g.try_take(l, std::uint64_t(1) << 62, t0);
  EXPECT_TRUE(r.admitted);  // from a full bucket, as any larger-than-burst take
  EXPECT_GT(r.reset, 24h * 365 * 50);
  EXPECT_FALSE(g.try_take(l, 1, t0 + 24h).admitted);
}

}  // namespace
}  // namespace modelgate::quota
