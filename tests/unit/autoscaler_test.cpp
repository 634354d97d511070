#include "proxy/manage/autoscaler.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <utility>
#include <vector>

using modelgate::proxy::autoscaler;
using namespace std::chrono_literals;

namespace {

using time_point = autoscaler::clock::time_point;
const time_point t0{std::chrono::hours(1)};

modelgate::config::managed_pool cfg(unsigned min, unsigned max) {
  modelgate::config::managed_pool m;
  m.command = {"x"};
  m.min_replicas = min;
  m.max_replicas = max;
  m.target_queue_depth = 4;
  m.scale_up_cooldown = 10s;
  m.scale_down_cooldown = 60s;
  m.scale_window = 10s;
  return m;
}

// Seconds since t0 at which desired() changed, and the value it changed to.
using changes = std::vector<std::pair<long, unsigned>>;

// Samples load(second) and evaluates once a second for seconds (from, to], recording changes.
changes drive(autoscaler& a, long from, long to, const std::function<double(long)>& load) {
  changes out;
  for (long s = from + 1; s <= to; ++s) {
    auto now = t0 + std::chrono::seconds(s);
    auto before = a.desired();
    a.sample(now, load(s));
    if (a.evaluate(now) != before) out.emplace_back(s, a.desired());
  }
  return out;
}

auto constant(double v) {
  return [v](long) { return v; };
}

}  // namespace

TEST(Autoscaler, StartsAtMinReplicas) {
  EXPECT_EQ(autoscaler(cfg(2, 5), t0).desired(), 2u);
  EXPECT_EQ(autoscaler(cfg(0, 5), t0).desired(), 0u);
}

TEST(Autoscaler, RampUpThenDownOneStepPerCooldown) {
  autoscaler a(cfg(1, 8), t0);
  // 10 in flight at 1 replica: 10 > 4, ⌈10/4⌉ = 3 once the first up-cooldown has passed.
  EXPECT_EQ(drive(a, 0, 15, constant(10)), (changes{{10, 3}}));
  // 30 from second 16 at 3 replicas. At 20 (cooldown over) the samples since the change, 11..20,
  // average 20 > 12 → ⌈20/4⌉ = 5; at 30 they average 30 > 20 → ⌈30/4⌉ = 8.
  EXPECT_EQ(drive(a, 15, 40, constant(30)), (changes{{20, 5}, {30, 8}}));
  // Idle: one replica fewer per scale_down_cooldown (60 s), down to min.
  EXPECT_EQ(drive(a, 40, 600, constant(0)),
            (changes{{90, 7}, {150, 6}, {210, 5}, {270, 4}, {330, 3}, {390, 2}, {450, 1}}));
}

TEST(Autoscaler, StepsUpByOneWhenTheMeanAsksForLess) {
  autoscaler a(cfg(1, 8), t0);
  // 4.5 > 4 × 1 but ⌈4.5/4⌉ = 2: one more; at 2 replicas 4.5 is no reason to grow.
  EXPECT_EQ(drive(a, 0, 100, constant(4.5)), (changes{{10, 2}}));
}

TEST(Autoscaler, UpCooldownHoldsAfterAnyChange) {
  auto c = cfg(1, 8);
  c.scale_up_cooldown = 30s;
  autoscaler a(c, t0);
  EXPECT_EQ(drive(a, 0, 40, constant(5)), (changes{{30, 2}}));
  // Much more load at once: the next step still waits 30 s after the last one.
  EXPECT_EQ(drive(a, 40, 100, constant(100)), (changes{{60, 8}}));
  // Down to 7 at 120, then a burst: up again only 30 s after the step down.
  EXPECT_EQ(drive(a, 100, 125, constant(0)), (changes{{120, 7}}));
  EXPECT_EQ(drive(a, 125, 200, constant(100)), (changes{{150, 8}}));
}

TEST(Autoscaler, DownCooldownHoldsAfterAStepUp) {
  autoscaler a(cfg(1, 8), t0);
  EXPECT_EQ(drive(a, 0, 10, constant(20)), (changes{{10, 5}}));
  // The burst ends at once; the pool stays at 5 for a full scale_down_cooldown after growing.
  auto c = drive(a, 10, 200, constant(0));
  ASSERT_FALSE(c.empty());
  EXPECT_EQ(c.front(), (std::pair<long, unsigned>{70, 4}));
}

TEST(Autoscaler, DecisionsNeedHalfAWindowOfFreshSamples) {
  autoscaler a(cfg(1, 8), t0);
  auto at = [](long s) { return t0 + std::chrono::seconds(s); };
  // Cooldown long passed, but the first samples span only 4 s at second 24.
  for (long s = 20; s <= 24; ++s) {
    a.sample(at(s), 100);
    EXPECT_EQ(a.evaluate(at(s)), 1u) << s;
  }
  a.sample(at(25), 100);
  EXPECT_EQ(a.evaluate(at(25)), 8u);
  // Samples from before the change do not count toward the next decision: with short cooldowns
  // the idle pool shrinks as soon as idle samples span 5 s (at 31), although the window still
  // holds the busy samples 21..25 (with them the mean would be 500/11, no reason to shrink).
  a.reconfigure([] {
    auto c = cfg(1, 8);
    c.scale_up_cooldown = 1s;
    c.scale_down_cooldown = 1s;
    return c;
  }());
  EXPECT_EQ(drive(a, 25, 45, constant(0)), (changes{{31, 7}, {37, 6}, {43, 5}}));
}

TEST(Autoscaler, NoFlappingAtASteadyLoadNearTheThreshold) {
  autoscaler a(cfg(1, 8), t0);
  // Mean 8.5 with single samples swinging from 4 to 13 (across both thresholds at 2 replicas):
  // one step to ⌈8.5/4⌉ = 3 and then nothing — at 3, up needs > 12 and down needs ≤ 4.
  auto noisy = [](long s) { return s % 2 == 0 ? 4.0 : 13.0; };
  EXPECT_EQ(drive(a, 0, 3600, noisy), (changes{{10, 3}}));

  // Just above the threshold that made the pool grow: 8.1 at 2 replicas (8.1 > 8) → 3 and stays.
  autoscaler b(cfg(2, 8), t0);
  EXPECT_EQ(drive(b, 0, 3600, constant(8.1)), (changes{{10, 3}}));
  // Falling to 3.9 at 3 replicas: 3.9 ≤ 4 × (3 − 1) × 0.5 takes it to 2, and no further (at 2 it
  // would need ≤ 2; growing again would need > 8).
  autoscaler c(cfg(1, 8), t0);
  EXPECT_EQ(drive(c, 0, 20, constant(12)), (changes{{10, 3}}));
  EXPECT_EQ(drive(c, 20, 3600, constant(3.9)), (changes{{70, 2}}));
}

TEST(Autoscaler, ClampsToMinAndMax) {
  autoscaler a(cfg(2, 3), t0);
  EXPECT_EQ(drive(a, 0, 100, constant(1e12)), (changes{{10, 3}})) << "no overflow on a huge mean";
  EXPECT_EQ(drive(a, 100, 1000, constant(0)), (changes{{111, 2}})) << "never below min";
}

// A pool replaced by a reload resumes at its predecessor's size, within its own limits; the
// resumed count is not a change, so the cooldown from construction still holds.
TEST(Autoscaler, ResumesAtAPredecessorsCountWithinItsLimits) {
  autoscaler a(cfg(1, 4), t0);
  a.resume_at(3);
  EXPECT_EQ(a.desired(), 3u);
  a.resume_at(9);
  EXPECT_EQ(a.desired(), 4u);
  a.resume_at(0);
  EXPECT_EQ(a.desired(), 1u);
  a.resume_at(3);
  EXPECT_EQ(drive(a, 0, 200, constant(0)), (changes{{60, 2}, {120, 1}}));
}

TEST(Autoscaler, FromZeroAnyLoadStartsReplicasAtOnce) {
  autoscaler a(cfg(0, 4), t0);
  EXPECT_EQ(drive(a, 0, 100, constant(0)), changes{});
  EXPECT_EQ(drive(a, 100, 101, constant(1)), (changes{{101, 1}}));
  // Back to zero only after a down-cooldown of complete idleness (mean ≤ 4 × 0 × 0.5).
  EXPECT_EQ(drive(a, 101, 200, constant(0.5)), changes{});
  EXPECT_EQ(drive(a, 200, 400, constant(0)), (changes{{211, 0}}));
  autoscaler b(cfg(0, 4), t0);
  EXPECT_EQ(drive(b, 0, 1, constant(9)), (changes{{1, 3}})) << "⌈9/4⌉ = 3";
}

TEST(Autoscaler, WindowMeanDropsOldSamples) {
  autoscaler a(cfg(1, 8), t0);
  EXPECT_EQ(a.window_mean(t0), 0.0);
  a.sample(t0 + 1s, 2);
  a.sample(t0 + 2s, 4);
  a.sample(t0 + 6s, 9);
  EXPECT_DOUBLE_EQ(a.window_mean(t0 + 6s), 5.0);
  EXPECT_DOUBLE_EQ(a.window_mean(t0 + 11s), 5.0) << "a sample exactly scale_window old counts";
  EXPECT_DOUBLE_EQ(a.window_mean(t0 + 12s), 6.5) << "the sample at 1 s is older than the window";
  EXPECT_DOUBLE_EQ(a.window_mean(t0 + 16s), 9.0);
  EXPECT_EQ(a.window_mean(t0 + 17s), 0.0);
  a.sample(t0 + 30s, 1);
  EXPECT_DOUBLE_EQ(a.window_mean(t0 + 30s), 1.0);
}

TEST(Autoscaler, ReconfigureKeepsSamplesAndClampsDesired) {
  autoscaler a(cfg(1, 8), t0);
  EXPECT_EQ(drive(a, 0, 10, constant(20)), (changes{{10, 5}}));
  const double mean = a.window_mean(t0 + 10s);
  a.reconfigure(cfg(1, 3));
  EXPECT_EQ(a.desired(), 3u);
  EXPECT_DOUBLE_EQ(a.window_mean(t0 + 10s), mean);
  a.reconfigure(cfg(4, 6));
  EXPECT_EQ(a.desired(), 4u);

  // A new target applies at the next evaluation: 20 at 4 replicas is 5 each, over a target of 2.
  auto c = cfg(4, 6);
  c.target_queue_depth = 2;
  a.reconfigure(c);
  EXPECT_EQ(drive(a, 10, 30, constant(20)), (changes{{20, 6}}));
  EXPECT_EQ(a.last_change(), t0 + 20s);
}
