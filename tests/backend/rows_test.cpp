// modelgate-backend counts rows (issue 14, item 10): a request over --max-batch rows runs in
// parts of at most --max-batch rows, answered as one; --max-queue bounds the rows waiting.

#include "backend_test_util.hpp"
#include "rows_body.hpp"
#include "tests/support/prometheus_text.hpp"
#include "tests/support/wait.hpp"

namespace modelgate::test_support {
namespace {

std::filesystem::path classifier() { return demo_model("classifier", {"--steps", "40"}); }

response post(std::uint16_t port, const std::string& body) {
  auto c = http_client::connect(port);
  c.set_timeout(std::chrono::seconds(60));
  return c.post("/v2/models/classifier/infer", body, {{"Content-Type", "application/json"}});
}

double metric(std::uint16_t port, const std::string& name) {
  return metric_sum(scrape(port), name).value_or(-1);
}

// Issue 14: a [1024,3,64,64] request ran as one 1024-row batch whatever --max-batch said.
TEST(Rows, ARequestOverMaxBatchRunsInPartsAndIsAnsweredInRowOrder) {
  backend_process b(classifier(), "classifier", {"--max-batch", "4", "--max-delay-us", "0", "--threads", "1"});
  auto whole = post(b.port(), rows_body(0, 10));
  ASSERT_EQ(whole.result_int(), 200u) << whole.body();
  EXPECT_EQ(json::serialize(parse_json(whole.body()).at("outputs").as_array().at(0).at("shape")), "[10,10]");
  EXPECT_EQ(metric(b.port(), "modelgate_backend_batch_size_count"), 3) << "10 rows: 4 + 4 + 2";
  EXPECT_EQ(metric(b.port(), "modelgate_backend_batch_size_sum"), 10);
  EXPECT_EQ(metric(b.port(), R"(modelgate_backend_batch_size_bucket{le="4"})"), 3)
      << "a model call of more than --max-batch rows";
  EXPECT_EQ(metric(b.port(), "modelgate_backend_queue_time_seconds_count"), 1)
      << "the queue time is the request's, once";

  // The same rows sent as three requests give the same numbers, in the same order.
  std::vector<double> joined;
  for (auto [first, count] : {std::pair{0, 4}, {4, 4}, {8, 2}}) {
    auto part = post(b.port(), rows_body(first, count));
    ASSERT_EQ(part.result_int(), 200u) << part.body();
    const auto v = first_output_data(part.body());
    joined.insert(joined.end(), v.begin(), v.end());
  }
  const auto got = first_output_data(whole.body());
  ASSERT_EQ(got.size(), 100u);
  ASSERT_EQ(joined.size(), 100u);
  for (std::size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], joined[i], 1e-4) << "value " << i;
}

// Issue 14: --max-queue counted requests, so a few requests could queue any number of rows.
TEST(Rows, TheQueueIsBoundedInRows) {
  backend_process b(classifier(), "classifier",
                    {"--max-batch", "64", "--max-delay-us", "10000000", "--max-queue", "8", "--threads", "1"});
  // 5 rows wait (up to 10 s) for a fuller batch.
  auto first = http_client::connect(b.port());
  request req{http::verb::post, "/v2/models/classifier/infer", 11};
  req.body() = rows_body(0, 5);
  first.send(req);
  ASSERT_TRUE(eventually([&] { return metric(b.port(), "modelgate_backend_queue_depth") == 1.0; }));

  auto full = post(b.port(), rows_body(0, 4));
  EXPECT_EQ(full.result_int(), 503u) << "5 + 4 rows > 8: " << full.body();
  EXPECT_EQ(full[http::field::retry_after], "1");
  EXPECT_EQ(metric(b.port(), R"(modelgate_backend_rejected_total{reason="queue_full"})"), 1.0);

  auto too_large = post(b.port(), rows_body(0, 9));
  EXPECT_EQ(too_large.result_int(), 413u) << "9 rows never fit 8: " << too_large.body();
  const auto message = parse_json(too_large.body()).at("error");
  EXPECT_NE(json::serialize(message).find("--max-queue"), std::string::npos) << message;

  // 3 more rows fit (8 in all): queued next to the first.
  auto second = http_client::connect(b.port());
  req.body() = rows_body(0, 3);
  second.send(req);
  EXPECT_TRUE(eventually([&] { return metric(b.port(), "modelgate_backend_queue_depth") == 2.0; }));
  EXPECT_EQ(post(b.port(), rows_body(0, 1)).result_int(), 503u) << "8 of 8 rows taken";
}

}  // namespace
}  // namespace modelgate::test_support
