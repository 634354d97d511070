// modelgate-backend, classifier kind: the KServe v2 endpoints against the real binary.

#include "backend_test_util.hpp"
#include "tests/support/prometheus_text.hpp"
#include "tests/support/wait.hpp"

#include <atomic>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <thread>

namespace modelgate::test_support {
namespace {

// Short training: these tests check the server, not the model's quality.
std::filesystem::path classifier() { return demo_model("classifier", {"--steps", "40"}); }

class KServe : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    backend_ = std::make_unique<backend_process>(classifier(), "classifier",
                                                 std::vector<std::string>{"--name", "demo", "--threads", "1"});
  }
  static void TearDownTestSuite() { backend_.reset(); }
  static std::uint16_t port() { return backend_->port(); }

  // Posts `body` to the infer endpoint of `model`; returns the response.
  static response infer(const std::string& body, const std::string& model = "demo") {
    auto c = http_client::connect(port());
    c.set_timeout(std::chrono::seconds(10));
    return c.post("/v2/models/" + model + "/infer", body,
                  {{"Content-Type", "application/json"}});
  }

  static std::unique_ptr<backend_process> backend_;
};
std::unique_ptr<backend_process> KServe::backend_;

TEST_F(KServe, HealthAndMetadata) {
  auto c = http_client::connect(port());
  auto live = c.get("/v2/health/live");
  EXPECT_EQ(live.result_int(), 200u);
  EXPECT_EQ(parse_json(live.body()).at("live"), true);
  auto ready = c.get("/v2/health/ready");
  EXPECT_EQ(ready.result_int(), 200u);
  EXPECT_EQ(parse_json(ready.body()).at("ready"), true);
  auto model_ready = c.get("/v2/models/demo/ready");
  EXPECT_EQ(model_ready.result_int(), 200u);
  EXPECT_EQ(parse_json(model_ready.body()).at("ready"), true);

  auto meta = c.get("/v2/models/demo");
  ASSERT_EQ(meta.result_int(), 200u);
  auto m = parse_json(meta.body());
  EXPECT_EQ(m.at("name"), "demo");
  const auto& in = m.at("inputs").as_array().at(0);
  EXPECT_EQ(in.at("name"), "input");
  EXPECT_EQ(in.at("datatype"), "FP32");
  EXPECT_EQ(json::serialize(in.at("shape")), "[-1,3,64,64]");
  const auto& out = m.at("outputs").as_array().at(0);
  EXPECT_EQ(out.at("name"), "output");
  EXPECT_EQ(json::serialize(out.at("shape")), "[-1,10]");
}

TEST_F(KServe, InferRoundTripGivesShapeNBy10) {
  for (std::int64_t rows : {1, 3}) {
    auto r = infer(infer_body(rows));
    ASSERT_EQ(r.result_int(), 200u) << r.body();
    EXPECT_EQ(r[http::field::content_type], "application/json");
    auto v = parse_json(r.body());
    EXPECT_EQ(v.at("model_name"), "demo");
    EXPECT_EQ(v.at("id"), "t1");
    const auto& out = v.at("outputs").as_array().at(0);
    EXPECT_EQ(out.at("name"), "output");
    EXPECT_EQ(out.at("datatype"), "FP32");
    EXPECT_EQ(json::serialize(out.at("shape")), "[" + std::to_string(rows) + ",10]");
    const auto& data = out.at("data").as_array();
    ASSERT_EQ(data.size(), static_cast<std::size_t>(rows * 10));
    for (const auto& x : data) EXPECT_TRUE(std::isfinite(x.to_number<double>()));
  }
}

TEST_F(KServe, SameInputSameOutputWhetherAloneOrInABatch) {
  auto one = parse_json(infer(infer_body(1)).body());
  auto two = parse_json(infer(infer_body(2)).body());
  const auto& a = one.at("outputs").as_array()[0].at("data").as_array();
  const auto& b = two.at("outputs").as_array()[0].at("data").as_array();
  ASSERT_EQ(b.size(), 20u);
  for (std::size_t i = 0; i < 10; ++i)
    EXPECT_NEAR(a[i].to_number<double>(), b[i].to_number<double>(), 1e-4);
}

// Every bad request is a 400 (404 for another model) with a JSON "error" string.
TEST_F(KServe, BadInputsAreRejectedWithJsonErrors) {
  struct bad_case {
    const char* what;
    std::string body;
    std::string model;
    unsigned status;
  };
  const std::vector<bad_case> cases = {
      {"wrong shape", infer_body(1, "input", "FP32", {1, 3, 32, 32}), "demo", 400},
      {"rank", infer_body(1, "input", "FP32", {1, 12288}), "demo", 400},
      {"data length", infer_body(1, "input", "FP32", {2, 3, 64, 64}), "demo", 400},
      {"datatype", infer_body(1, "input", "INT32"), "demo", 400},
      {"input name", infer_body(1, "pixels"), "demo", 400},
      {"malformed JSON", R"({"inputs": [)", "demo", 400},
      {"not an object", "[1,2,3]", "demo", 400},
      {"no inputs", R"({"outputs":[]})", "demo", 400},
      {"non-numeric data",
       R"({"inputs":[{"name":"input","shape":[1,1,1,1],"datatype":"FP32","data":["x"]}]})",
       "demo", 400},
      {"unknown model", infer_body(1), "nosuchmodel", 404},
  };
  for (const auto& c : cases) {
    auto r = infer(c.body, c.model);
    EXPECT_EQ(r.result_int(), c.status) << c.what << ": " << r.body();
    auto v = parse_json(r.body());
    ASSERT_TRUE(v.is_object()) << c.what;
    ASSERT_TRUE(v.as_object().contains("error")) << c.what;
    EXPECT_TRUE(v.at("error").is_string()) << c.what;
  }
  // Still serving after all that.
  EXPECT_EQ(infer(infer_body(1)).result_int(), 200u);
  auto c = http_client::connect(port());
  auto unknown = c.get("/v2/models/nosuchmodel");
  EXPECT_EQ(unknown.result_int(), 404u);
  EXPECT_TRUE(parse_json(unknown.body()).as_object().contains("error"));
  auto completions = c.post("/v1/completions", R"({"prompt":"hi"})");
  EXPECT_EQ(completions.result_int(), 404u);
}

TEST_F(KServe, EveryResponseCarriesTheLoadReport) {
  const std::regex orca(
      R"(TEXT named_metrics\.queue_depth=\d+,named_metrics\.in_flight=\d+)");
  auto c = http_client::connect(port());
  for (auto target : {"/v2/health/live", "/v2/models/demo", "/metrics", "/nope"}) {
    auto r = c.get(target);
    EXPECT_TRUE(std::regex_match(std::string(r["endpoint-load-metrics"]), orca))
        << target << ": '" << r["endpoint-load-metrics"] << "'";
  }
  auto r = infer(infer_body(1));
  EXPECT_TRUE(std::regex_match(std::string(r["endpoint-load-metrics"]), orca));
  auto bad = infer("{");
  EXPECT_TRUE(std::regex_match(std::string(bad["endpoint-load-metrics"]), orca));
}

TEST_F(KServe, MetricsPassPromtool) {
  ASSERT_EQ(infer(infer_body(2)).result_int(), 200u);
  ASSERT_EQ(infer("{").result_int(), 400u);
  const auto text = scrape(port());
  for (auto name : {"modelgate_backend_queue_depth", "modelgate_backend_in_flight",
                    "modelgate_backend_batch_size_count", "modelgate_backend_queue_time_seconds_count",
                    "modelgate_backend_inference_seconds_count", "modelgate_backend_requests_total"})
    EXPECT_TRUE(metric_sum(text, name).has_value()) << name;
  EXPECT_GE(*metric_sum(text, "modelgate_backend_requests_total{code=\"4xx\"}"), 1.0);

  const char* promtool = "/usr/bin/promtool";
  if (!std::filesystem::exists(promtool)) GTEST_SKIP() << "promtool is not installed";
  temp_dir dir;
  auto in = dir.write("metrics.txt", text);
  auto r = run_command({promtool, "check", "metrics"}, dir.path(), in);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

// 32 clients at once, a long enough delay window: the histogram shows batches of more than 1.
TEST(KServeBatching, ConcurrentRequestsFormBatches) {
  backend_process b(classifier(), "classifier",
                    {"--max-batch", "32", "--max-delay-us", "200000", "--max-queue", "64"});
  constexpr int clients = 32;
  const auto body = infer_body(1);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < clients; ++i)
    threads.emplace_back([&] {
      auto c = http_client::connect(b.port());
      c.set_timeout(std::chrono::seconds(20));
      if (c.post("/v2/models/classifier/infer", body).result_int() == 200) ++ok;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), clients);
  const auto text = scrape(b.port());
  const double batches = metric_sum(text, "modelgate_backend_batch_size_count").value_or(0);
  const double rows = metric_sum(text, "modelgate_backend_batch_size_sum").value_or(0);
  const double singles =
      metric_sum(text, "modelgate_backend_batch_size_bucket{le=\"1\"}").value_or(-1);
  EXPECT_EQ(rows, clients);
  EXPECT_GE(batches, 1);
  EXPECT_LT(batches, clients) << text;
  EXPECT_LT(singles, batches) << "every batch had one row:\n" << text;
  EXPECT_GT(rows / batches, 1.0);
}

// Two workers, batches of mixed requests (1 and 2 rows, four different inputs): every request
// gets back exactly its own rows, the same as when it was sent alone.
TEST(KServeBatching, EachRequestGetsItsOwnRowsBack) {
  backend_process b(classifier(), "classifier",
                    {"--max-batch", "8", "--max-delay-us", "20000", "--workers", "2",
                     "--threads", "1"});
  const auto post = [&](const std::string& body) {
    auto c = http_client::connect(b.port());
    c.set_timeout(std::chrono::seconds(20));
    auto r = c.post("/v2/models/classifier/infer", body);
    EXPECT_EQ(r.result_int(), 200u) << r.body();
    return first_output_data(r.body());
  };
  // (pattern, rows) -> the answer alone.
  std::map<std::pair<int, int>, std::vector<double>> alone;
  for (int p = 0; p < 4; ++p)
    for (int rows = 1; rows <= 2; ++rows)
      alone[{p, rows}] = post(infer_body(rows, "input", "FP32", {}, p));
  constexpr int clients = 24;
  std::vector<std::vector<double>> got(clients);
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i)
    threads.emplace_back(
        [&, i] { got[i] = post(infer_body(1 + i % 2, "input", "FP32", {}, i % 4)); });
  for (auto& t : threads) t.join();
  for (int i = 0; i < clients; ++i) {
    const auto& want = alone[{i % 4, 1 + i % 2}];
    ASSERT_EQ(got[i].size(), want.size()) << "client " << i;
    for (std::size_t k = 0; k < want.size(); ++k)
      ASSERT_NEAR(got[i][k], want[k], 1e-4) << "client " << i << " value " << k;
  }
  const auto text = scrape(b.port());
  EXPECT_LT(metric_sum(text, "modelgate_backend_batch_size_count").value_or(0), 8.0 + clients)
      << "no batch held more than one request:\n" << text;
}

// One queue slot, a batch that waits 10 s for company: the second request finds the queue
// full and is turned away at once.
TEST(KServeBatching, FullQueueAnswers503WithRetryAfter) {
  backend_process b(classifier(), "classifier",
                    {"--max-batch", "64", "--max-delay-us", "10000000", "--max-queue", "1"});
  auto first = http_client::connect(b.port());
  request req{http::verb::post, "/v2/models/classifier/infer", 11};
  req.body() = infer_body(1);
  first.send(req);
  ASSERT_TRUE(eventually([&] {
    return metric_sum(scrape(b.port()), "modelgate_backend_queue_depth") == 1.0;
  }));
  auto c = http_client::connect(b.port());
  const auto start = steady_clock::now();
  auto r = c.post("/v2/models/classifier/infer", infer_body(1));
  EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_EQ(r.result_int(), 503u);
  EXPECT_EQ(r[http::field::retry_after], "1");
  EXPECT_TRUE(parse_json(r.body()).as_object().contains("error"));
  EXPECT_EQ(r["endpoint-load-metrics"],
            "TEXT named_metrics.queue_depth=1,named_metrics.in_flight=0");
  EXPECT_EQ(metric_sum(scrape(b.port()), "modelgate_backend_rejected_total{reason=\"queue_full\"}"),
            1.0);
}

// --config renames the input and output (and states the input shape); a shape the model
// cannot run stops the start with the reason.
TEST(KServeConfig, NamesAndShapesFromYaml) {
  temp_dir dir;
  auto good = dir.write("io.yaml", "input:\n  name: pixels\n  shape: [-1, 3, 64, 64]\n"
                                   "output:\n  name: logits\n");
  backend_process b(classifier(), "classifier",
                    {"--config", good.string(), "--name", "img", "--threads", "1"});
  auto c = http_client::connect(b.port());
  c.set_timeout(std::chrono::seconds(10));
  auto m = parse_json(c.get("/v2/models/img").body());
  EXPECT_EQ(m.at("inputs").as_array().at(0).at("name"), "pixels");
  EXPECT_EQ(m.at("outputs").as_array().at(0).at("name"), "logits");
  auto r = c.post("/v2/models/img/infer", infer_body(1, "pixels"));
  ASSERT_EQ(r.result_int(), 200u) << r.body();
  EXPECT_EQ(parse_json(r.body()).at("outputs").as_array().at(0).at("name"), "logits");
  EXPECT_EQ(c.post("/v2/models/img/infer", infer_body(1, "input")).result_int(), 400u);

  auto bad = dir.write("bad.yaml", "input:\n  shape: [-1, 3, 32, 32]\n");
  try {
    backend_process never(classifier(), "classifier", {"--config", bad.string()});
    ADD_FAILURE() << "started with a shape the model cannot run";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("trial run with input shape [1,3,32,32] failed"),
              std::string::npos)
        << e.what();
  }
}

// SIGTERM: the queued request (waiting for a fuller batch) still gets its answer, then the
// process exits 0.
TEST(KServeShutdown, SigtermFinishesQueuedWorkThenExits) {
  backend_process b(classifier(), "classifier",
                    {"--max-batch", "64", "--max-delay-us", "10000000"});
  auto first = http_client::connect(b.port());
  first.set_timeout(std::chrono::seconds(10));
  request req{http::verb::post, "/v2/models/classifier/infer", 11};
  req.body() = infer_body(1);
  first.send(req);
  ASSERT_TRUE(eventually([&] {
    return metric_sum(scrape(b.port()), "modelgate_backend_queue_depth") == 1.0;
  }));
  b.process().signal(SIGTERM);
  auto r = first.read_response();
  EXPECT_EQ(r.result_int(), 200u) << r.body();
  EXPECT_EQ(b.process().wait_exit(std::chrono::seconds(10)), 0);
}

}  // namespace
}  // namespace modelgate::test_support
