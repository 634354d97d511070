#include "proxy/health/pool_live.hpp"

#include <cmath>

namespace modelgate::proxy {
namespace {

hash_ring make_ring(const config::pool& cfg) {
  std::vector<std::string> names;
  std::vector<std::uint32_t> weights;
  for (const auto& b : cfg.backends) {
    names.push_back(b.label());
    weights.push_back(b.weight);
  }
  return hash_ring(names, weights);
}

}  // namespace

pool_live::pool_live(const config::pool& cfg)
    : cfg_(cfg),
      size_(cfg.backends.size()),
      backends_(std::make_unique<backend_live[]>(cfg.backends.size())),
      ring_(make_ring(cfg)) {
  // DNS slots start empty: the first resolution fills them (managed replica slots: the supervisor).
  for (std::size_t b = 0; b < size_; ++b)
    if (cfg.backends[b].slots > 0) backends_[b].present.store(false, std::memory_order_relaxed);
}

bool pool_live::available(std::size_t b, clock::time_point now) const noexcept {
  const auto& s = backends_[b];
  return s.present.load(std::memory_order_relaxed) && s.probe_healthy.load(std::memory_order_relaxed) &&
         s.ejected_until.load(std::memory_order_relaxed) <= ticks(now);
}

std::uint64_t pool_live::queued(std::size_t b, clock::time_point now) const noexcept {
  const auto& s = backends_[b];
  auto at = s.reported_at.load(std::memory_order_relaxed);
  if (at == 0 || ticks(now) - at > clock::duration(cfg_.report.max_age).count()) return 0;
  return static_cast<std::uint64_t>(std::max<std::int64_t>(0, s.reported_queue.load(std::memory_order_relaxed)));
}

void pool_live::report_queue(std::size_t b, double depth, clock::time_point now) noexcept {
  auto& s = backends_[b];
  s.reported_queue.store(static_cast<std::int64_t>(std::llround(depth)), std::memory_order_relaxed);
  s.reported_at.store(ticks(now), std::memory_order_relaxed);
}

std::size_t pool_live::present_count() const noexcept {
  std::size_t n = 0;
  for (std::size_t b = 0; b < size_; ++b) n += present(b) ? 1 : 0;
  return n;
}

slot_info pool_live::slot_address(std::size_t b) const {
  const auto& s = backends_[b];
  std::lock_guard lock(s.address_mutex);
  return {s.address, s.port, s.address_generation.load(std::memory_order_relaxed)};
}

bool pool_live::set_slot_address(std::size_t b, const std::string& ip, std::uint16_t port) {
  auto& s = backends_[b];
  {
    std::lock_guard lock(s.address_mutex);
    if (s.address == ip && s.port == port) return false;
    s.address = ip;
    s.port = port;
    s.address_generation.fetch_add(1, std::memory_order_relaxed);
  }
  {
    std::lock_guard lock(s.outlier_mutex);
    s.outlier = outlier_state{};
    s.ejected_until.store(0, std::memory_order_relaxed);
    s.failing.store(false, std::memory_order_relaxed);
  }
  s.probe_healthy.store(true, std::memory_order_relaxed);
  s.reported_at.store(0, std::memory_order_relaxed);
  s.present.store(!ip.empty(), std::memory_order_relaxed);
  return true;
}

std::size_t pool_live::ejected_count(clock::time_point now) const noexcept {
  std::size_t n = 0;
  for (std::size_t b = 0; b < size_; ++b)
    if (backends_[b].ejected_until.load(std::memory_order_relaxed) > ticks(now)) ++n;
  return n;
}

bool pool_live::record_failure(std::size_t b, clock::time_point now, failure_kind kind) {
  auto& s = backends_[b];
  auto ejected_now = ejected_count(now);
  std::lock_guard lock(s.outlier_mutex);
  s.failing.store(true, std::memory_order_relaxed);
  const bool ejected =
      kind == failure_kind::refused
          ? proxy::record_refusal(s.outlier, cfg_.outliers, now, ejected_now, present_count())
          : proxy::record_failure(s.outlier, cfg_.outliers, now, ejected_now, present_count());
  if (!ejected) return false;
  s.ejected_until.store(ticks(s.outlier.ejected_until), std::memory_order_relaxed);
  s.ejections.fetch_add(1, std::memory_order_relaxed);
  s.failing.store(false, std::memory_order_relaxed);
  return true;
}

void pool_live::record_success(std::size_t b) {
  auto& s = backends_[b];
  // The common case (no failure streak) costs one relaxed load.
  if (!s.failing.load(std::memory_order_relaxed)) return;
  std::lock_guard lock(s.outlier_mutex);
  proxy::record_success(s.outlier);
  s.failing.store(false, std::memory_order_relaxed);
}

}  // namespace modelgate::proxy
