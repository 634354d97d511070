#pragma once
// Polling instead of fixed sleeps: wait until a condition holds or a deadline passes.

#include <chrono>
#include <thread>

namespace modelgate::test_support {

/// Calls `done()` every few milliseconds until it returns true (→ true) or `timeout` passes
/// (→ false, after one last check).
template <class Predicate>
bool eventually(Predicate done, std::chrono::milliseconds timeout = std::chrono::seconds(3)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return done();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace modelgate::test_support
