#include "proxy/cache/single_flight.hpp"
#include "tests/cache/test_support.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <vector>

namespace modelgate::cache {
namespace {

using namespace std::chrono_literals;
using test::key_of;
using test::make_entry;
using test::t0;

// A follower as the tests see it: what it was told, if anything (and how many times).
struct follower {
  std::uint64_t id = 0;
  int calls = 0;
  std::optional<follower_outcome> got;

  waiter callback() {
    return [this](follower_outcome o) {
      ++calls;
      got.emplace(std::move(o));
    };
  }
};

waiter never_called() {
  return [](follower_outcome) { ADD_FAILURE() << "a leader's waiter was called"; };
}

TEST(SingleFlight, FirstLeadsOthersFollowAndGetTheSameEntry) {
  single_flight sf;
  auto lead = sf.join(key_of(1), t0 + 10s, never_called());
  ASSERT_TRUE(lead.leads());
  std::vector<follower> fs(5);
  for (auto& f : fs) {
    auto j = sf.join(key_of(1), t0 + 10s, f.callback());
    ASSERT_FALSE(j.leads());
    f.id = j.waiter_id;
  }
  EXPECT_EQ(sf.stats().waiting, 5u);
  for (auto& f : fs) EXPECT_EQ(f.calls, 0);  // nobody is told anything before the leader ends

  auto e = make_entry(10);
  EXPECT_EQ(lead.lease.complete(e), 5u);
  EXPECT_FALSE(lead.lease);
  for (auto& f : fs) {
    ASSERT_EQ(f.calls, 1);
    EXPECT_EQ(f.got->result, wait_result::use_entry);
    EXPECT_EQ(f.got->entry.get(), e.get());
    EXPECT_FALSE(f.got->lease);
  }
  auto st = sf.stats();
  EXPECT_EQ(st.flights, 0u);
  EXPECT_EQ(st.waiting, 0u);
  EXPECT_EQ(st.leaders, 1u);
  EXPECT_EQ(st.followers, 5u);
  // The flight is over: the next request for the key leads again.
  EXPECT_TRUE(sf.join(key_of(1), t0, never_called()).leads());
}

TEST(SingleFlight, DifferentKeysDoNotCoalesce) {
  single_flight sf;
  auto a = sf.join(key_of(1), t0, never_called());
  auto b = sf.join(key_of(2), t0, never_called());
  EXPECT_TRUE(a.leads());
  EXPECT_TRUE(b.leads());
  EXPECT_EQ(sf.stats().flights, 2u);
}

TEST(SingleFlight, LeaderFailurePromotesExactlyOneFollower) {
  single_flight sf;
  auto lead = sf.join(key_of(1), t0 + 10s, never_called());
  std::vector<follower> fs(4);
  for (auto& f : fs) f.id = sf.join(key_of(1), t0 + 10s, f.callback()).waiter_id;

  EXPECT_EQ(lead.lease.fail(), 1u);
  ASSERT_EQ(fs[0].calls, 1);  // the oldest follower
  EXPECT_EQ(fs[0].got->result, wait_result::lead);
  EXPECT_TRUE(fs[0].got->lease);
  for (std::size_t i = 1; i < fs.size(); ++i) EXPECT_EQ(fs[i].calls, 0) << i;
  EXPECT_EQ(sf.stats().promotions, 1u);
  EXPECT_EQ(sf.stats().waiting, 3u);

  // A new request still joins the same flight.
  follower late;
  EXPECT_FALSE(sf.join(key_of(1), t0 + 10s, late.callback()).leads());

  // The new leader succeeds: everyone else, including the late one, gets its entry.
  auto e = make_entry(1);
  EXPECT_EQ(fs[0].got->lease.complete(e), 4u);
  for (std::size_t i = 1; i < fs.size(); ++i) {
    ASSERT_EQ(fs[i].calls, 1) << i;
    EXPECT_EQ(fs[i].got->result, wait_result::use_entry);
    EXPECT_EQ(fs[i].got->entry.get(), e.get());
  }
  EXPECT_EQ(late.got->result, wait_result::use_entry);
  EXPECT_EQ(fs[0].calls, 1);  // never told twice
  EXPECT_EQ(sf.stats().flights, 0u);
}

TEST(SingleFlight, DroppedLeaseCountsAsFailure) {
  single_flight sf;
  follower f;
  {
    auto lead = sf.join(key_of(1), t0 + 10s, never_called());
    sf.join(key_of(1), t0 + 10s, f.callback());
  }  // the leader's coroutine died without an outcome
  ASSERT_EQ(f.calls, 1);
  EXPECT_EQ(f.got->result, wait_result::lead);
}

TEST(SingleFlight, PromotedLeaseDroppedUnusedPromotesTheNext) {
  // A waiter whose outcome is dropped (e.g. posted to a stopped io_context) must not strand
  // the others.
  single_flight sf;
  auto lead = sf.join(key_of(1), t0 + 10s, never_called());
  int dropped_calls = 0;
  sf.join(key_of(1), t0 + 10s, [&](follower_outcome) { ++dropped_calls; });
  follower second;
  sf.join(key_of(1), t0 + 10s, second.callback());
  lead.lease.fail();
  EXPECT_EQ(dropped_calls, 1);
  ASSERT_EQ(second.calls, 1);
  EXPECT_EQ(second.got->result, wait_result::lead);
}

// Issue 14: a flight that gives up must not turn into errors for its followers; each forwards
// on its own and gets whatever the upstream answers it.
TEST(SingleFlight, AfterMaxAttemptsFailedLeadersFollowersProceedAlone) {
  single_flight sf(2);
  auto lead = sf.join(key_of(1), t0 + 10s, never_called());
  std::vector<follower> fs(3);
  for (auto& f : fs) sf.join(key_of(1), t0 + 10s, f.callback());
  lead.lease.fail();  // attempt 1 failed: fs[0] leads
  ASSERT_EQ(fs[0].got->result, wait_result::lead);
  EXPECT_EQ(fs[0].got->lease.fail(), 2u);  // attempt 2 failed: the flight gives up
  for (std::size_t i = 1; i < fs.size(); ++i) {
    ASSERT_EQ(fs[i].calls, 1);
    EXPECT_EQ(fs[i].got->result, wait_result::proceed) << "forward alone, never an error";
    EXPECT_FALSE(fs[i].got->lease);
  }
  EXPECT_EQ(sf.stats().give_ups, 1u);
  EXPECT_EQ(sf.stats().flights, 0u);
  EXPECT_EQ(sf.stats().waiting, 0u);
}

// The finding: three clients that give up after 0.5 s, one after the other, lead the flight in
// turn; those that wait must still get the entry, not an error and not a flight that gave up.
TEST(SingleFlight, LeadersWhoseClientsLeftHandOverWithoutUsingUpAttempts) {
  single_flight sf(3);
  auto lead = sf.join(key_of(1), t0 + 30s, never_called());
  std::vector<follower> impatient(4), patient(3);
  for (auto& f : impatient) sf.join(key_of(1), t0 + 30s, f.callback());
  for (auto& f : patient) sf.join(key_of(1), t0 + 30s, f.callback());

  EXPECT_EQ(lead.lease.hand_over(), 1u);
  for (std::size_t i = 0; i < impatient.size(); ++i) {
    ASSERT_EQ(impatient[i].calls, 1) << i;
    ASSERT_EQ(impatient[i].got->result, wait_result::lead) << i;
    if (i + 1 < impatient.size()) {
      EXPECT_EQ(impatient[i + 1].calls, 0) << "one at a time";
    }
    EXPECT_EQ(impatient[i].got->lease.hand_over(), 1u) << i;  // its client left too
  }
  // Five leaders left, more than max_attempts: the flight goes on with the oldest patient one.
  ASSERT_EQ(patient[0].calls, 1);
  ASSERT_EQ(patient[0].got->result, wait_result::lead);
  EXPECT_EQ(patient[1].calls, 0);
  auto e = make_entry(3);
  EXPECT_EQ(patient[0].got->lease.complete(e), 2u);
  for (std::size_t i = 1; i < patient.size(); ++i) {
    ASSERT_EQ(patient[i].calls, 1);
    EXPECT_EQ(patient[i].got->result, wait_result::use_entry);
    EXPECT_EQ(patient[i].got->entry.get(), e.get());
  }
  EXPECT_EQ(sf.stats().promotions, 5u);
  EXPECT_EQ(sf.stats().give_ups, 0u);
  EXPECT_EQ(sf.stats().flights, 0u);
}

TEST(SingleFlight, OnlyFailuresCountTowardsGivingUp) {
  single_flight sf(2);
  auto lead = sf.join(key_of(1), t0 + 10s, never_called());
  std::vector<follower> fs(5);
  for (auto& f : fs) sf.join(key_of(1), t0 + 10s, f.callback());
  lead.lease.fail();                   // failure 1
  fs[0].got->lease.hand_over();        // not counted
  fs[1].got->lease.hand_over();        // not counted
  ASSERT_EQ(fs[2].got->result, wait_result::lead);
  EXPECT_EQ(fs[2].got->lease.fail(), 2u);  // failure 2: the last two proceed alone
  EXPECT_EQ(fs[3].got->result, wait_result::proceed);
  EXPECT_EQ(fs[4].got->result, wait_result::proceed);
}

TEST(SingleFlight, HandOverWithoutFollowersEndsTheFlight) {
  single_flight sf;
  auto lead = sf.join(key_of(1), t0, never_called());
  EXPECT_EQ(lead.lease.hand_over(), 0u);
  EXPECT_FALSE(lead.lease);
  EXPECT_EQ(sf.stats().flights, 0u);
  EXPECT_TRUE(sf.join(key_of(1), t0, never_called()).leads());
}

TEST(SingleFlight, FailureWithoutFollowersEndsTheFlight) {
  single_flight sf;
  auto lead = sf.join(key_of(1), t0, never_called());
  EXPECT_EQ(lead.lease.fail(), 0u);
  EXPECT_EQ(sf.stats().flights, 0u);
  EXPECT_TRUE(sf.join(key_of(1), t0, never_called()).leads());
}

TEST(SingleFlight, DisbandSendsEveryoneUpstream) {
  single_flight sf;
  auto lead = sf.join(key_of(1), t0 + 10s, never_called());
  std::vector<follower> fs(3);
  for (auto& f : fs) sf.join(key_of(1), t0 + 10s, f.callback());
  EXPECT_EQ(lead.lease.disband(), 3u);
  for (auto& f : fs) {
    ASSERT_EQ(f.calls, 1);
    EXPECT_EQ(f.got->result, wait_result::proceed);
    EXPECT_EQ(f.got->entry, nullptr);
  }
}

TEST(SingleFlight, LeaseEndsOnlyOnce) {
  single_flight sf;
  auto lead = sf.join(key_of(1), t0 + 10s, never_called());
  follower f;
  sf.join(key_of(1), t0 + 10s, f.callback());
  EXPECT_EQ(lead.lease.complete(make_entry(1)), 1u);
  EXPECT_EQ(lead.lease.fail(), 0u);
  EXPECT_EQ(lead.lease.hand_over(), 0u);
  EXPECT_EQ(lead.lease.disband(), 0u);
  EXPECT_EQ(f.calls, 1);
}

TEST(SingleFlight, MovedLeaseKeepsTheDuty) {
  single_flight sf;
  follower f;
  flight_lease kept;
  {
    auto lead = sf.join(key_of(1), t0 + 10s, never_called());
    sf.join(key_of(1), t0 + 10s, f.callback());
    kept = std::move(lead.lease);
  }
  EXPECT_EQ(f.calls, 0);  // the moved-from lease owed nothing
  kept.complete(make_entry(1));
  EXPECT_EQ(f.got->result, wait_result::use_entry);
}

TEST(SingleFlight, CancelledWaiterIsNeverCalled) {
  single_flight sf;
  auto lead = sf.join(key_of(1), t0 + 10s, never_called());
  follower gone, stays;
  gone.id = sf.join(key_of(1), t0 + 10s, gone.callback()).waiter_id;
  stays.id = sf.join(key_of(1), t0 + 10s, stays.callback()).waiter_id;
  EXPECT_TRUE(sf.cancel(key_of(1), gone.id));
  EXPECT_FALSE(sf.cancel(key_of(1), gone.id));
  EXPECT_EQ(lead.lease.fail(), 1u);  // the promotion skips the cancelled waiter
  EXPECT_EQ(gone.calls, 0);
  ASSERT_EQ(stays.calls, 1);
  EXPECT_EQ(stays.got->result, wait_result::lead);
  EXPECT_FALSE(sf.cancel(key_of(1), stays.id));  // already told
  stays.got->lease.complete(make_entry(1));
}

TEST(SingleFlight, DeadlinesTimeOutWaitersButNotTheFlight) {
  single_flight sf;
  auto lead = sf.join(key_of(1), t0 + 100s, never_called());
  follower early, late;
  sf.join(key_of(1), t0 + 5s, early.callback());
  sf.join(key_of(1), t0 + 20s, late.callback());
  EXPECT_EQ(sf.next_deadline(), t0 + 5s);
  EXPECT_EQ(sf.expire(t0 + 4s), 0u);
  EXPECT_EQ(sf.expire(t0 + 5s), 1u);
  ASSERT_EQ(early.calls, 1);
  EXPECT_EQ(early.got->result, wait_result::timed_out);
  EXPECT_EQ(late.calls, 0);
  EXPECT_EQ(sf.next_deadline(), t0 + 20s);
  lead.lease.complete(make_entry(1));
  EXPECT_EQ(early.calls, 1);
  EXPECT_EQ(late.got->result, wait_result::use_entry);
  EXPECT_EQ(sf.next_deadline(), std::nullopt);
  EXPECT_EQ(sf.stats().timeouts, 1u);
}

TEST(SingleFlight, NoWaiterLostAcrossManyFailures) {
  // Every follower ends with exactly one outcome whatever mix of failures and cancels happens.
  single_flight sf(100);
  auto lead = sf.join(key_of(7), t0 + 10s, never_called());
  std::vector<follower> fs(20);
  for (auto& f : fs) f.id = sf.join(key_of(7), t0 + 10s, f.callback()).waiter_id;
  sf.cancel(key_of(7), fs[5].id);
  flight_lease current = std::move(lead.lease);
  for (int round = 0; round < 10; ++round) {
    current.fail();
    follower* promoted = nullptr;
    for (auto& f : fs)
      if (f.calls == 1 && f.got->result == wait_result::lead && f.got->lease) promoted = &f;
    ASSERT_NE(promoted, nullptr) << round;
    current = std::move(promoted->got->lease);
  }
  current.complete(make_entry(1));
  int leads = 0, entries = 0;
  for (std::size_t i = 0; i < fs.size(); ++i) {
    if (i == 5) {
      EXPECT_EQ(fs[i].calls, 0);
      continue;
    }
    ASSERT_EQ(fs[i].calls, 1) << i;
    (fs[i].got->result == wait_result::lead ? leads : entries)++;
  }
  EXPECT_EQ(leads, 10);
  EXPECT_EQ(entries, 9);
  EXPECT_EQ(sf.stats().waiting, 0u);
  EXPECT_EQ(sf.stats().flights, 0u);
}

TEST(UniqueFunction, HoldsMoveOnlyState) {
  auto p = std::make_unique<int>(41);
  unique_function<int(int)> f = [p = std::move(p)](int x) { return *p + x; };
  auto g = std::move(f);
  EXPECT_FALSE(f);  // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_EQ(g(1), 42);
}

}  // namespace
}  // namespace modelgate::cache
