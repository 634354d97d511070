#pragma once
// Passive health, from live traffic: a backend that fails `consecutive_failures` times in a row
// (connect failures or 5xx) is ejected for base_ejection × (number of ejections so far, at most
// 10), unless ejecting it would take the pool past `max_ejected_share`. A success resets the
// streak. Pure; the caller keeps one state per backend and passes the time in.

#include "config/config.hpp"

#include <algorithm>
#include <chrono>

namespace modelgate::proxy {

/// How an upstream attempt failed, for passive ejection.
enum class failure_kind {
  error,    // connect timeout or error, reset, 5xx: counts toward consecutive_failures
  refused,  // the connection was refused: ejects at once
};

struct outlier_state {
  using time_point = std::chrono::steady_clock::time_point;
  unsigned consecutive_failures = 0;
  unsigned ejections = 0;
  time_point ejected_until{};

  bool ejected(time_point now) const noexcept { return now < ejected_until; }
};

/// Records a failure. `ejected_now` is how many of the pool's `pool_size` backends are ejected at
/// `now`. Returns true when this failure ejects the backend.
inline bool record_failure(outlier_state& s, const config::outlier_detection& cfg,
                           outlier_state::time_point now, std::size_t ejected_now,
                           std::size_t pool_size) {
  if (cfg.consecutive_failures == 0 || s.ejected(now)) return false;
  if (++s.consecutive_failures < cfg.consecutive_failures) return false;
  // Keep at least one backend and never exceed the share (one may always go when the share allows >0).
  auto allowed = static_cast<std::size_t>(cfg.max_ejected_share * static_cast<double>(pool_size));
  if (ejected_now + 1 > allowed || ejected_now + 1 >= pool_size) return false;
  ++s.ejections;
  s.consecutive_failures = 0;
  s.ejected_until = now + cfg.base_ejection * std::min(s.ejections, 10u);
  return true;
}

/// A refused connection: nothing listens on the backend's port, the strongest sign it is gone
/// (HAProxy's layer-4 observation). Ejects it at once, within the same share limits as
/// record_failure(). Returns true when it ejects the backend.
inline bool record_refusal(outlier_state& s, const config::outlier_detection& cfg,
                           outlier_state::time_point now, std::size_t ejected_now,
                           std::size_t pool_size) {
  if (cfg.consecutive_failures == 0 || s.ejected(now)) return false;
  s.consecutive_failures = std::max(s.consecutive_failures, cfg.consecutive_failures - 1);
  return record_failure(s, cfg, now, ejected_now, pool_size);
}

inline void record_success(outlier_state& s) noexcept { s.consecutive_failures = 0; }

/// Active checks: `healthy_after` passes in a row make a backend healthy, `unhealthy_after`
/// failures in a row unhealthy. Backends start healthy so traffic flows before the first probe.
struct probe_state {
  bool healthy = true;
  unsigned streak = 0;  // consecutive results that disagree with `healthy`

  /// Returns true when the state flipped.
  bool record(bool ok, const config::health_check& cfg) noexcept {
    if (ok == healthy) {
      streak = 0;
      return false;
    }
    if (++streak < (ok ? cfg.healthy_after : cfg.unhealthy_after)) return false;
    healthy = ok;
    streak = 0;
    return true;
  }
};

}  // namespace modelgate::proxy
