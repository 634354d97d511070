#include "proxy/manage/autoscaler.hpp"

#include <algorithm>
#include <cmath>

namespace modelgate::proxy {

autoscaler::autoscaler(const config::managed_pool& cfg, clock::time_point now)
    : last_change_(now), fresh_after_(now - clock::duration(1)) {
  reconfigure(cfg);
  desired_ = min_;
}

void autoscaler::reconfigure(const config::managed_pool& cfg) {
  min_ = cfg.min_replicas;
  max_ = std::max(cfg.max_replicas, min_);
  target_ = cfg.target_queue_depth;
  up_cooldown_ = cfg.scale_up_cooldown;
  down_cooldown_ = cfg.scale_down_cooldown;
  window_ = cfg.scale_window;
  desired_ = std::clamp(desired_, min_, max_);
}

void autoscaler::drop_old(clock::time_point now) {
  while (!samples_.empty() && samples_.front().at < now - window_) samples_.pop_front();
}

void autoscaler::sample(clock::time_point now, double total_load) {
  samples_.push_back({now, std::max(0.0, total_load)});
  drop_old(now);
}

double autoscaler::window_mean(clock::time_point now) const {
  double sum = 0;
  std::size_t n = 0;
  for (const auto& s : samples_)
    if (s.at >= now - window_ && s.at <= now) {
      sum += s.load;
      ++n;
    }
  return n == 0 ? 0.0 : sum / static_cast<double>(n);
}

unsigned autoscaler::evaluate(clock::time_point now) {
  drop_old(now);
  // The samples that speak for the current replica count: in the window, after the last change.
  double sum = 0;
  std::size_t n = 0;
  clock::time_point first{}, last{};
  for (const auto& s : samples_) {
    if (s.at <= fresh_after_ || s.at > now) continue;
    if (n == 0) first = s.at;
    last = s.at;
    sum += s.load;
    ++n;
  }
  if (n == 0) return desired_;
  const double mean = sum / static_cast<double>(n);
  auto change_to = [&](unsigned d) {
    desired_ = d;
    last_change_ = now;
    fresh_after_ = now;
    return desired_;
  };

  // ⌈mean / target⌉ replicas, capped at max before the cast (mean may be huge).
  const double wanted = std::ceil(mean / target_);
  const unsigned want = wanted >= max_ ? max_ : static_cast<unsigned>(wanted);

  if (desired_ == 0) return mean > 0 && max_ > 0 ? change_to(std::max(1u, want)) : desired_;
  if (2 * (last - first) < window_) return desired_;
  const auto since_change = now - last_change_;

  if (mean > target_ * desired_ && desired_ < max_ && since_change >= up_cooldown_)
    return change_to(std::min(max_, std::max(desired_ + 1, want)));
  if (desired_ > min_ && mean <= target_ * (desired_ - 1) * 0.5 && since_change >= down_cooldown_)
    return change_to(desired_ - 1);
  return desired_;
}

}  // namespace modelgate::proxy
