// Load-report parsers: the ORCA text header and a metric summed from a Prometheus text page.

#include "proxy/health/load_report.hpp"

#include <gtest/gtest.h>

using modelgate::proxy::orca_queue_depth;
using modelgate::proxy::prometheus_sum;

TEST(OrcaHeader, ReadsQueueDepthWithOrWithoutPrefix) {
  EXPECT_EQ(orca_queue_depth("TEXT named_metrics.queue_depth=3,named_metrics.in_flight=1"), 3.0);
  EXPECT_EQ(orca_queue_depth("named_metrics.in_flight=2, named_metrics.queue_depth=0.5"), 0.5);
  EXPECT_EQ(orca_queue_depth("  TEXT named_metrics.queue_depth = 7 "), 7.0);
}

TEST(OrcaHeader, AbsentOrMalformedIsNothing) {
  EXPECT_EQ(orca_queue_depth(""), std::nullopt);
  EXPECT_EQ(orca_queue_depth("TEXT cpu_utilization=0.3"), std::nullopt);
  EXPECT_EQ(orca_queue_depth("TEXT named_metrics.queue_depth"), std::nullopt);
  EXPECT_EQ(orca_queue_depth("TEXT named_metrics.queue_depth=-1"), std::nullopt);
  EXPECT_EQ(orca_queue_depth("TEXT named_metrics.queue_depth=NaN"), std::nullopt);
  EXPECT_EQ(orca_queue_depth("TEXT named_metrics.queue_depth=3x"), std::nullopt);
  EXPECT_EQ(orca_queue_depth("TEXT named_metrics.queue_depth=1e400"), std::nullopt);
  EXPECT_EQ(orca_queue_depth("JSON {\"named_metrics\":{\"queue_depth\":3}}"), std::nullopt);
}

TEST(PrometheusText, SumsEverySampleOfTheMetric) {
  const char* page =
      "# HELP vllm:num_requests_waiting Requests waiting.\n"
      "# TYPE vllm:num_requests_waiting gauge\n"
      "vllm:num_requests_waiting{model_name=\"a\"} 3\n"
      "vllm:num_requests_waiting{model_name=\"b,}\\\"x\"} 4.5 1700000000000\n"
      "vllm:num_requests_waiting_total 100\n"
      "vllm:num_requests_running 9\n";
  EXPECT_EQ(prometheus_sum(page, "vllm:num_requests_waiting"), 7.5);
  EXPECT_EQ(prometheus_sum("tgi_queue_size 2\r\n", "tgi_queue_size"), 2.0);
}

TEST(PrometheusText, MissingOrMalformedIsNothing) {
  EXPECT_EQ(prometheus_sum("", "waiting"), std::nullopt);
  EXPECT_EQ(prometheus_sum("waiting_total 3\n# waiting 4\n", "waiting"), std::nullopt);
  EXPECT_EQ(prometheus_sum("waiting{a=\"1\" 3\n", "waiting"), std::nullopt);
  EXPECT_EQ(prometheus_sum("waiting abc\n", "waiting"), std::nullopt);
  EXPECT_EQ(prometheus_sum("waiting +Inf\n", "waiting"), std::nullopt);
  EXPECT_EQ(prometheus_sum("waiting\n", "waiting"), std::nullopt);
}
