// Unit tests for the backend's pure batching logic: the dynamic batcher driven by a manual
// clock (rows per batch, rows in the queue, requests cut into parts), continuous decode batching
// with a fake model, and the sampler.

#include "backend/batching/decode_batch.hpp"
#include "backend/batching/dynamic_batcher.hpp"
#include "backend/batching/sampler.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>

namespace mb = modelgate::backend;
using namespace std::chrono_literals;

namespace {

// Only the types are used: the batcher never reads a clock.
struct manual_clock {
  using duration = std::chrono::microseconds;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<manual_clock>;
  static constexpr bool is_steady = true;
};
using batcher = mb::dynamic_batcher<int, manual_clock>;
const manual_clock::time_point t0{};

std::vector<int> items(const batcher::batch& b) {
  std::vector<int> out;
  for (const auto& p : b.parts) out.push_back(p.item);
  return out;
}

// "item[first,end)" for each part.
std::string parts(const batcher::batch& b) {
  std::string out;
  for (const auto& p : b.parts)
    out += (out.empty() ? "" : " ") + std::to_string(p.item) + "[" + std::to_string(p.first_row) +
           "," + std::to_string(p.first_row + p.rows) + ")";
  return out;
}

TEST(DynamicBatcher, SizeTriggerReleasesAFullBatchAtOnce) {
  batcher b({4, 1000us, 16});
  for (int i = 0; i < 3; ++i) ASSERT_EQ(b.push(i, 1, t0), mb::push_result::queued);
  EXPECT_FALSE(b.take(t0)) << "3 of 4 rows and no time passed: keep waiting";
  ASSERT_EQ(b.push(3, 1, t0 + 10us), mb::push_result::queued);
  auto got = b.take(t0 + 10us);
  ASSERT_TRUE(got);
  EXPECT_EQ(items(*got), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(got->rows, 4u);
  EXPECT_EQ(b.waiting(), 0u);
}

TEST(DynamicBatcher, DelayTriggerReleasesAPartialBatchWhenTheOldestHasWaited) {
  batcher b({8, 1000us, 16});
  b.push(1, 1, t0);
  b.push(2, 1, t0 + 400us);
  ASSERT_TRUE(b.due_at());
  EXPECT_EQ(*b.due_at(), t0 + 1000us) << "due when the oldest request has waited max_delay";
  EXPECT_FALSE(b.take(t0 + 999us));
  auto got = b.take(t0 + 1000us);
  ASSERT_TRUE(got);
  EXPECT_EQ(items(*got), (std::vector<int>{1, 2}));
  EXPECT_FALSE(b.due_at()) << "empty queue: nothing is due";
}

TEST(DynamicBatcher, BatchesNeverExceedMaxBatchRows) {
  batcher b({4, 0us, 16});
  b.push(1, 3, t0);
  b.push(2, 2, t0);  // would make 5 rows
  b.push(3, 1, t0);
  auto first = b.take(t0);
  ASSERT_TRUE(first);
  EXPECT_EQ(items(*first), (std::vector<int>{1}));
  auto second = b.take(t0);
  ASSERT_TRUE(second);
  EXPECT_EQ(items(*second), (std::vector<int>{2, 3}));
}

// Issue 14: a 1024-row request ran as one 1024-row model call whatever max_batch said.
TEST(DynamicBatcher, OversizedRequestIsCutIntoPartsOfAtMostMaxBatchRows) {
  batcher b({4, 1000us, 16});
  ASSERT_EQ(b.push(7, 10, t0), mb::push_result::queued);
  std::vector<std::string> got;
  while (auto batch = b.take(t0)) {
    EXPECT_LE(batch->rows, 4u);
    got.push_back(parts(*batch));
  }
  EXPECT_EQ(got, (std::vector<std::string>{"7[0,4)", "7[4,8)"})) << "10 rows >= max_batch: due at once";
  EXPECT_EQ(b.queued_rows(), 2u);
  EXPECT_EQ(*b.due_at(), t0 + 1000us) << "2 rows left: they wait for company like any request";
  auto last = b.take(t0 + 1000us);
  ASSERT_TRUE(last);
  EXPECT_EQ(parts(*last), "7[8,10)");
  EXPECT_EQ(b.waiting(), 0u);
  EXPECT_EQ(b.queued_rows(), 0u);
}

// The worked example of dynamic_batcher.hpp: parts fill batches; a request that fits one batch
// is never cut.
TEST(DynamicBatcher, PartsFillBatchesAndSmallRequestsStayWhole) {
  batcher b({16, 1000us, 100});
  b.push(1, 2, t0);
  b.push(2, 40, t0);
  b.push(3, 3, t0);
  b.push(4, 15, t0);
  std::vector<std::string> got;
  while (auto batch = b.take(t0 + 1000us)) got.push_back(parts(*batch));
  EXPECT_EQ(got, (std::vector<std::string>{"1[0,2) 2[0,14)", "2[14,30)", "2[30,40) 3[0,3)", "4[0,15)"}));
}

// Issue 14: --max-queue counted requests, so one request could queue any number of rows.
TEST(DynamicBatcher, TheQueueIsBoundedInRows) {
  batcher b({6, 1000000us, 8});
  EXPECT_EQ(b.push(1, 3, t0), mb::push_result::queued);
  EXPECT_EQ(b.push(2, 6, t0), mb::push_result::full) << "3 + 6 rows > 8";
  EXPECT_EQ(b.push(3, 5, t0), mb::push_result::queued) << "3 + 5 rows = 8";
  EXPECT_EQ(b.push(4, 1, t0), mb::push_result::full);
  EXPECT_EQ(b.queued_rows(), 8u);
  EXPECT_EQ(b.waiting(), 2u);
  auto first = b.take(t0);
  ASSERT_TRUE(first) << "8 rows >= max_batch 6: due at once";
  EXPECT_EQ(parts(*first), "1[0,3)") << "request 3 fits a batch whole: not cut to fill this one";
  EXPECT_EQ(b.queued_rows(), 5u);
  EXPECT_EQ(b.push(2, 3, t0), mb::push_result::queued) << "room again";
  EXPECT_EQ(b.push(5, 1, t0), mb::push_result::full);
}

TEST(DynamicBatcher, MoreRowsThanTheWholeQueueIsTooLargeEvenWhenEmpty) {
  batcher b({4, 1000us, 8});
  EXPECT_EQ(b.push(1, 9, t0), mb::push_result::too_large);
  EXPECT_EQ(b.push(2, 8, t0), mb::push_result::queued);
  EXPECT_EQ(b.push(3, 9, t0), mb::push_result::too_large) << "not `full`: waiting never helps";
  b.close();
  EXPECT_EQ(b.push(4, 9, t0), mb::push_result::closed);
}

TEST(DynamicBatcher, ClosedBatcherDrainsWithoutWaitingAndRefusesNewWork) {
  batcher b({8, 1000000us, 16});
  b.push(1, 1, t0);
  b.close();
  EXPECT_EQ(b.push(2, 1, t0), mb::push_result::closed);
  auto got = b.take(t0);
  ASSERT_TRUE(got) << "queued work leaves at once when closing";
  EXPECT_EQ(items(*got), (std::vector<int>{1}));
}

// A fake model: the next token is the input token + 1; the state counts steps.
void fake_step(std::span<const std::int64_t> tokens, std::span<float> states,
               std::span<float> logits) {
  std::fill(logits.begin(), logits.end(), 0.0f);
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    logits[i * 256 + static_cast<std::size_t>(tokens[i] + 1) % 256] = 10.0f;
    states[i] += 1.0f;
  }
}

struct recorder {
  std::map<std::string, std::string> text;
  std::map<std::string, mb::token_event> last;
  mb::generation make(const std::string& name, std::string prompt, std::size_t max_tokens) {
    mb::generation g;
    g.prompt.assign(prompt.begin(), prompt.end());
    g.max_tokens = max_tokens;
    g.temperature = 0;
    g.emit = [this, name](const mb::token_event& e) {
      text[name] += static_cast<char>(e.token);
      last[name] = e;
    };
    return g;
  }
};

TEST(DecodeBatch, FeedsThePromptThenGeneratesAndLeavesWhenFinished) {
  mb::decode_batch batch(1, 256, 8);
  recorder r;
  batch.join(r.make("a", "AB", 3));
  EXPECT_EQ(batch.step(fake_step), 1u);
  EXPECT_EQ(r.text["a"], "") << "still reading the prompt";
  batch.step(fake_step);  // fed 'B' → 'C'
  batch.step(fake_step);  // 'C' → 'D'
  batch.step(fake_step);  // 'D' → 'E', third token: finished
  EXPECT_EQ(r.text["a"], "CDE");
  EXPECT_EQ(r.last["a"].finish, mb::finish_reason::length);
  EXPECT_EQ(r.last["a"].prompt_tokens, 2u);
  EXPECT_EQ(r.last["a"].completion_tokens, 3u);
  EXPECT_EQ(batch.active(), 0u);
  EXPECT_EQ(batch.step(fake_step), 0u) << "no sequences: no model call";
  EXPECT_EQ(batch.emitted(), 3u);
}

TEST(DecodeBatch, NewSequenceJoinsARunningBatchAtTheNextStep) {
  mb::decode_batch batch(1, 256, 8);
  recorder r;
  std::vector<std::size_t> sizes;
  auto counting = [&](auto t, auto s, auto l) {
    sizes.push_back(t.size());
    fake_step(t, s, l);
  };
  batch.join(r.make("a", "a", 4));
  batch.step(counting);
  batch.step(counting);
  batch.join(r.make("b", "k", 2));
  batch.step(counting);
  batch.step(counting);  // a: 'd' → 'e', its fourth token; b: 'l' → 'm', its second: both done
  EXPECT_EQ(batch.active(), 0u);
  EXPECT_EQ(batch.step(counting), 0u);
  EXPECT_EQ(sizes, (std::vector<std::size_t>{1, 1, 2, 2}));
  EXPECT_EQ(r.text["a"], "bcde");
  EXPECT_EQ(r.text["b"], "lm");
}

TEST(DecodeBatch, CancelledSequenceLeavesBeforeTheNextStepWithoutTokens) {
  mb::decode_batch batch(1, 256, 8);
  recorder r;
  auto a = r.make("a", "x", 100);
  auto cancel_a = a.cancelled;
  batch.join(std::move(a));
  batch.join(r.make("b", "x", 100));
  batch.step(fake_step);
  const auto a_tokens = r.text["a"].size();
  cancel_a->store(true);
  std::size_t covered = 0;
  batch.step([&](auto t, auto s, auto l) {
    covered = t.size();
    fake_step(t, s, l);
  });
  EXPECT_EQ(covered, 1u) << "the cancelled sequence is not computed";
  EXPECT_EQ(r.text["a"].size(), a_tokens) << "no tokens generated for nobody";
  EXPECT_EQ(batch.active(), 1u);
}

TEST(DecodeBatch, StatesStayWithTheirSequences) {
  mb::decode_batch batch(2, 256, 8);
  std::vector<float> seen;
  recorder r;
  batch.join(r.make("a", "a", 3));
  batch.step(fake_step);
  batch.join(r.make("b", "b", 3));
  batch.step([&](auto t, auto s, auto l) {
    seen.assign(s.begin(), s.end());
    fake_step(t, s, l);
  });
  EXPECT_EQ(seen, (std::vector<float>{1, 0, 0, 0})) << "a has one step, b starts from zeros";
}

TEST(Sampler, ZeroTemperatureIsArgmaxOverPrintableBytes) {
  std::vector<float> logits(256, 0.0f);
  logits[200] = 50.0f;  // not printable: never chosen
  logits['q'] = 5.0f;
  std::mt19937_64 rng(1);
  EXPECT_EQ(mb::sample_token(logits, 0.0, rng), 'q');
}

TEST(Sampler, SameSeedSameDraws) {
  std::vector<float> logits(256, 1.0f);
  std::mt19937_64 a(42), b(42);
  for (int i = 0; i < 50; ++i) {
    auto x = mb::sample_token(logits, 1.0, a);
    EXPECT_EQ(x, mb::sample_token(logits, 1.0, b));
    EXPECT_TRUE(x == '\n' || (x >= 32 && x < 127));
  }
}

}  // namespace
