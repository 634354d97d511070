// In-flight cap: permits come back on completion, on abort (destruction) and on move-assignment.
#include "proxy/quota/concurrency_limiter.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace modelgate::quota {
namespace {

TEST(Concurrency, CapIsEnforcedAndReleaseOnCompletionFreesASlot) {
  auto gate = std::make_shared<concurrency_gate>();
  auto a = concurrency_gate::try_acquire(gate, 2);
  auto b = concurrency_gate::try_acquire(gate, 2);
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(*a && *b);
  EXPECT_EQ(gate->in_flight(), 2u);
  EXPECT_FALSE(concurrency_gate::try_acquire(gate, 2));
  a->release();  // response complete
  EXPECT_FALSE(*a);
  EXPECT_EQ(gate->in_flight(), 1u);
  a->release();  // idempotent
  EXPECT_EQ(gate->in_flight(), 1u);
  auto c = concurrency_gate::try_acquire(gate, 2);
  EXPECT_TRUE(c);
  EXPECT_EQ(gate->in_flight(), 2u);
}

TEST(Concurrency, AbortedRequestReleasesThroughDestruction) {
  auto gate = std::make_shared<concurrency_gate>();
  {
    auto p = concurrency_gate::try_acquire(gate, 1);
    ASSERT_TRUE(p);
    EXPECT_FALSE(concurrency_gate::try_acquire(gate, 1));
    // The client disconnects: the request's frame (and its permit) is destroyed.
  }
  EXPECT_EQ(gate->in_flight(), 0u);
  EXPECT_TRUE(concurrency_gate::try_acquire(gate, 1));
}

TEST(Concurrency, ExceptionUnwindingReleases) {
  auto gate = std::make_shared<concurrency_gate>();
  try {
    auto p = concurrency_gate::try_acquire(gate, 1);
    throw std::runtime_error("handler failed");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(gate->in_flight(), 0u);
}

TEST(Concurrency, MovesTransferOwnershipWithoutDoubleRelease) {
  auto gate = std::make_shared<concurrency_gate>();
  auto p = *concurrency_gate::try_acquire(gate, 0);
  concurrency_permit q(std::move(p));
  EXPECT_FALSE(p);  // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_TRUE(q);
  EXPECT_EQ(gate->in_flight(), 1u);
  auto r = *concurrency_gate::try_acquire(gate, 0);
  EXPECT_EQ(gate->in_flight(), 2u);
  q = std::move(r);  // q's old slot is released, r's slot moves in
  EXPECT_EQ(gate->in_flight(), 1u);
  q = concurrency_permit{};
  EXPECT_EQ(gate->in_flight(), 0u);
}

TEST(Concurrency, PermitOutlivesTheStoreReference) {
  auto gate = std::make_shared<concurrency_gate>();
  auto p = concurrency_gate::try_acquire(gate, 1);
  std::weak_ptr<concurrency_gate> w = gate;
  gate.reset();  // key removed on reload while a request is in flight
  EXPECT_FALSE(w.expired());
  p.reset();
  EXPECT_TRUE(w.expired());
}

TEST(Concurrency, ZeroMeansUncappedButCounted) {
  auto gate = std::make_shared<concurrency_gate>();
  std::vector<concurrency_permit> held;
  for (int i = 0; i < 100; ++i) held.push_back(*concurrency_gate::try_acquire(gate, 0));
  EXPECT_EQ(gate->in_flight(), 100u);
  held.clear();
  EXPECT_EQ(gate->in_flight(), 0u);
}

TEST(Concurrency, ThreadsNeverExceedTheCap) {
  auto gate = std::make_shared<concurrency_gate>();
  std::atomic<int> over{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        if (auto p = concurrency_gate::try_acquire(gate, 3)) {
          if (gate->in_flight() > 3) ++over;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(over.load(), 0);
  EXPECT_EQ(gate->in_flight(), 0u);
}

}  // namespace
}  // namespace modelgate::quota
