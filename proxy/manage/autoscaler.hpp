#pragma once
// How many replicas a managed pool should run, from its recent load. Pure: the caller samples the
// pool's load, passes the time, and carries out the count evaluate() returns.
//
// Load is the pool's total in-flight + queued requests. Its mean over `scale_window`, taken only
// from samples since the last change (the old replica count's load says little about the new
// one), decides:
//   up    when mean > target_queue_depth × desired and scale_up_cooldown has passed since the
//         last change: desired = min(max, max(desired + 1, ⌈mean / target⌉));
//   down  when mean ≤ target × (desired − 1) × 0.5 and scale_down_cooldown has passed since the
//         last change (up or down): desired − 1, one step at a time, never below min.
// Either needs samples since the last change that span at least half the window. The factor
// 0.5 is the hysteresis: right after growing from d to d + 1 (mean > target × d) the pool only
// shrinks once the mean halves, so a steady load near a threshold does not flap.
// Example (target 4): mean 9 at 2 replicas → 9 > 8, up to max(3, ⌈9/4⌉) = 3. At 3 it stays until
// the mean exceeds 12 (up) or drops to 4 (down, 4 ≤ 4 × 2 × 0.5).
//
// From zero replicas (min_replicas 0) any load > 0 asks at once for max(1, ⌈mean / target⌉),
// without cooldown or window: with no replica every request fails. Construction counts as a change (desired starts
// at min_replicas), so the first step up waits for scale_up_cooldown too.

#include "config/config.hpp"

#include <algorithm>
#include <chrono>
#include <deque>

namespace modelgate::proxy {

class autoscaler {
 public:
  using clock = std::chrono::steady_clock;

  autoscaler(const config::managed_pool& cfg, clock::time_point now);  // desired() starts at min_replicas

  /// Records the total in-flight + queued requests over the pool's replicas at `now`.
  /// Samples must come in time order.
  void sample(clock::time_point now, double total_load);
  /// Re-evaluates and returns the (possibly changed) desired replica count.
  unsigned evaluate(clock::time_point now);
  unsigned desired() const noexcept { return desired_; }
  /// Mean of the samples within scale_window before `now` (0 if none), whatever the last change.
  double window_mean(clock::time_point now) const;
  /// New min/max/target/cooldowns/window; keeps the samples and clamps desired() to [min, max].
  /// A clamp does not count as a change for cooldowns.
  void reconfigure(const config::managed_pool& cfg);
  /// Takes over the count of the pool this one replaces (a reload that restarts a pool keeps
  /// its size): desired() = n clamped to [min, max]. Not a change for cooldowns.
  void resume_at(unsigned n) { desired_ = std::clamp(n, min_, max_); }
  /// When desired() last changed by evaluate() (construction counts).
  clock::time_point last_change() const noexcept { return last_change_; }

 private:
  struct load_sample {
    clock::time_point at;
    double load;
  };
  void drop_old(clock::time_point now);

  unsigned min_ = 0;
  unsigned max_ = 1;
  double target_ = 4;
  clock::duration up_cooldown_{};
  clock::duration down_cooldown_{};
  clock::duration window_{};
  unsigned desired_ = 0;
  clock::time_point last_change_;
  clock::time_point fresh_after_;  // samples taken after this are "since the last change"
  std::deque<load_sample> samples_;
};

}  // namespace modelgate::proxy
