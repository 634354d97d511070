// Response headers and status codes of a decision.
#include "proxy/quota/decision.hpp"

#include <gtest/gtest.h>

namespace modelgate::quota {
namespace {

using namespace std::chrono_literals;

TEST(FormatReset, GoDurationStyle) {
  EXPECT_EQ(format_reset(0ns), "0s");
  EXPECT_EQ(format_reset(-5s), "0s");
  EXPECT_EQ(format_reset(1ns), "1ms");  // rounded up: never "0s" while something is pending
  EXPECT_EQ(format_reset(250ms), "250ms");
  EXPECT_EQ(format_reset(999ms), "999ms");
  EXPECT_EQ(format_reset(1s), "1s");
  EXPECT_EQ(format_reset(1500ms), "1.5s");
  EXPECT_EQ(format_reset(1250ms), "1.25s");
  EXPECT_EQ(format_reset(1005ms), "1.005s");
  EXPECT_EQ(format_reset(6min), "6m0s");
  EXPECT_EQ(format_reset(6min + 1500ms), "6m1.5s");
  EXPECT_EQ(format_reset(1h + 2min + 3s), "1h2m3s");
  EXPECT_EQ(format_reset(2h), "2h0m0s");
}

TEST(RetryAfter, WholeSecondsRoundedUpAtLeastOne) {
  EXPECT_EQ(retry_after_seconds(0ns), "1");
  EXPECT_EQ(retry_after_seconds(1ms), "1");
  EXPECT_EQ(retry_after_seconds(1s), "1");
  EXPECT_EQ(retry_after_seconds(1001ms), "2");
  EXPECT_EQ(retry_after_seconds(59s + 1ns), "60");
}

TEST(Decision, StatusAndNames) {
  EXPECT_EQ(http_status(reject_reason::rate), 429u);
  EXPECT_EQ(http_status(reject_reason::concurrency), 429u);
  EXPECT_EQ(http_status(reject_reason::tokens), 429u);
  EXPECT_EQ(http_status(reject_reason::unauthorized), 401u);
  EXPECT_EQ(http_status(reject_reason::forbidden), 403u);
  EXPECT_EQ(http_status(reject_reason::unavailable), 503u);
  EXPECT_EQ(reason_name(reject_reason::rate), "rate");
  EXPECT_EQ(reason_name(reject_reason::concurrency), "concurrency");
  EXPECT_EQ(reason_name(reject_reason::tokens), "tokens");
  EXPECT_EQ(reason_name(reject_reason::unauthorized), "unauthorized");
  EXPECT_EQ(reason_name(reject_reason::forbidden), "forbidden");
  EXPECT_EQ(reason_name(reject_reason::unavailable), "unavailable");
}

TEST(Decision, AdmittedCarriesBothTrios) {
  decision d;
  d.requests = limit_status{20, 19, 100ms};
  d.tokens = limit_status{20000, 18976, 3072ms};
  ASSERT_TRUE(d.admitted());
  const std::vector<header_field> want{
      {"x-ratelimit-limit-requests", "20"},  {"x-ratelimit-remaining-requests", "19"},
      {"x-ratelimit-reset-requests", "100ms"}, {"x-ratelimit-limit-tokens", "20000"},
      {"x-ratelimit-remaining-tokens", "18976"}, {"x-ratelimit-reset-tokens", "3.072s"}};
  EXPECT_EQ(response_headers(d), want);
}

TEST(Decision, RateRejectionHasRetryAfterFirst) {
  auto d = decision::reject(reject_reason::rate, 2500ms);
  d.requests = limit_status{5, 0, 4s};
  EXPECT_FALSE(d.admitted());
  const std::vector<header_field> want{{"Retry-After", "3"},
                                       {"x-ratelimit-limit-requests", "5"},
                                       {"x-ratelimit-remaining-requests", "0"},
                                       {"x-ratelimit-reset-requests", "4s"}};
  EXPECT_EQ(response_headers(d), want);
}

TEST(Decision, AuthRejections) {
  const std::vector<header_field> unauthorized{{"WWW-Authenticate", "Bearer realm=\"modelgate\""}};
  EXPECT_EQ(response_headers(decision::reject(reject_reason::unauthorized)), unauthorized);
  EXPECT_TRUE(response_headers(decision::reject(reject_reason::forbidden)).empty());
  const std::vector<header_field> unavailable{{"Retry-After", "1"}};
  EXPECT_EQ(response_headers(decision::reject(reject_reason::unavailable)), unavailable);
}

TEST(Decision, NoLimitsNoHeaders) { EXPECT_TRUE(response_headers(decision::admit()).empty()); }

}  // namespace
}  // namespace modelgate::quota
