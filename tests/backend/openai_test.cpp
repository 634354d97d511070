// modelgate-backend, textgen kind: OpenAI-style completions (whole and streamed) against the
// real binary. The demo model is untrained (--steps 0): its training takes minutes on a busy
// 2-core machine, and these tests check the server, not the prose.

#include "backend_test_util.hpp"
#include "tests/support/prometheus_text.hpp"
#include "tests/support/wait.hpp"

#include <memory>
#include <thread>

namespace modelgate::test_support {
namespace {

class OpenAi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    backend_ = std::make_unique<backend_process>(demo_model("textgen", {"--steps", "0"}),
                                                 "textgen",
                                                 std::vector<std::string>{"--name", "tiny", "--threads", "1"});
  }
  static void TearDownTestSuite() { backend_.reset(); }
  static std::uint16_t port() { return backend_->port(); }

  static response post(const std::string& path, const std::string& body) {
    auto c = http_client::connect(port());
    c.set_timeout(std::chrono::seconds(10));
    return c.post(path, body, {{"Content-Type", "application/json"}});
  }

  // A whole completion's text; fails the test on another status.
  static std::string complete(const std::string& body) {
    auto r = post("/v1/completions", body);
    EXPECT_EQ(r.result_int(), 200u) << r.body();
    auto v = parse_json(r.body());
    return std::string(v.at("choices").as_array().at(0).at("text").as_string());
  }

  static std::unique_ptr<backend_process> backend_;
};
std::unique_ptr<backend_process> OpenAi::backend_;

// The data lines of an event stream, in order.
std::vector<std::string> data_lines(const std::string& body) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while ((pos = body.find("data: ", pos)) != std::string::npos) {
    const auto end = body.find("\n\n", pos);
    out.push_back(body.substr(pos + 6, end - pos - 6));
    pos = end;
  }
  return out;
}

TEST_F(OpenAi, ListsTheModel) {
  auto c = http_client::connect(port());
  auto r = c.get("/v1/models");
  ASSERT_EQ(r.result_int(), 200u);
  auto v = parse_json(r.body());
  EXPECT_EQ(v.at("object"), "list");
  EXPECT_EQ(v.at("data").as_array().at(0).at("id"), "tiny");
  EXPECT_EQ(c.get("/v2/models/tiny").result_int(), 200u);
}

TEST_F(OpenAi, CompletionCarriesUsage) {
  auto r = post("/v1/completions", R"({"model":"tiny","prompt":"The proxy","max_tokens":12})");
  ASSERT_EQ(r.result_int(), 200u) << r.body();
  EXPECT_FALSE(r["endpoint-load-metrics"].empty());
  auto v = parse_json(r.body());
  EXPECT_EQ(v.at("object"), "text_completion");
  EXPECT_EQ(v.at("model"), "tiny");
  const auto& choice = v.at("choices").as_array().at(0);
  EXPECT_EQ(choice.at("text").as_string().size(), 12u);
  EXPECT_EQ(choice.at("finish_reason"), "length");
  EXPECT_EQ(v.at("usage").at("prompt_tokens"), 9);
  EXPECT_EQ(v.at("usage").at("completion_tokens"), 12);
  EXPECT_EQ(v.at("usage").at("total_tokens"), 21);
}

TEST_F(OpenAi, ChatCompletionCarriesUsage) {
  auto r = post("/v1/chat/completions",
                R"({"model":"tiny","messages":[{"role":"user","content":"hi"}],"max_tokens":5})");
  ASSERT_EQ(r.result_int(), 200u) << r.body();
  auto v = parse_json(r.body());
  EXPECT_EQ(v.at("object"), "chat.completion");
  const auto& msg = v.at("choices").as_array().at(0).at("message");
  EXPECT_EQ(msg.at("role"), "assistant");
  EXPECT_EQ(msg.at("content").as_string().size(), 5u);
  // "user: hi\nassistant:" is 19 bytes.
  EXPECT_EQ(v.at("usage").at("prompt_tokens"), 19);
  EXPECT_EQ(v.at("usage").at("completion_tokens"), 5);
  EXPECT_EQ(v.at("usage").at("total_tokens"), 24);
}

TEST_F(OpenAi, TemperatureZeroIsDeterministicAndASeedRepeats) {
  const std::string greedy = R"({"prompt":"Once upon","max_tokens":24,"temperature":0})";
  EXPECT_EQ(complete(greedy), complete(greedy));
  const std::string seeded = R"({"prompt":"Once upon","max_tokens":24,"temperature":1,"seed":7})";
  EXPECT_EQ(complete(seeded), complete(seeded));
}

TEST_F(OpenAi, StreamArrivesTokenByTokenAndEndsWithDone) {
  constexpr int tokens = 32;
  auto c = http_client::connect(port());
  c.set_timeout(std::chrono::seconds(10));
  request req{http::verb::post, "/v1/completions", 11};
  req.set(http::field::content_type, "application/json");
  req.body() = R"({"prompt":"The ","max_tokens":32,"temperature":0,"stream":true})";
  c.send(req);
  auto s = c.read_streaming();
  ASSERT_TRUE(s.complete) << s.error.message();
  EXPECT_EQ(s.header.result_int(), 200u);
  EXPECT_EQ(s.header[http::field::content_type], "text/event-stream");
  EXPECT_FALSE(s.header["endpoint-load-metrics"].empty());

  auto events = data_lines(s.body());
  ASSERT_EQ(events.size(), tokens + 1u) << s.body();
  EXPECT_EQ(events.back(), "[DONE]");
  std::string text;
  for (int i = 0; i < tokens; ++i) {
    auto v = parse_json(events[i]);
    EXPECT_EQ(v.at("object"), "text_completion");
    const auto& choice = v.at("choices").as_array().at(0);
    // One generated byte per event.
    EXPECT_EQ(choice.at("text").as_string().size(), 1u) << events[i];
    text += choice.at("text").as_string();
    const bool last = i + 1 == tokens;
    EXPECT_EQ(v.as_object().contains("usage"), last) << events[i];
    if (last) {
      EXPECT_EQ(choice.at("finish_reason"), "length");
      EXPECT_EQ(v.at("usage").at("prompt_tokens"), 4);
      EXPECT_EQ(v.at("usage").at("completion_tokens"), tokens);
      EXPECT_EQ(v.at("usage").at("total_tokens"), tokens + 4);
    } else {
      EXPECT_TRUE(choice.at("finish_reason").is_null());
    }
  }
  // Streamed and whole greedy answers agree.
  EXPECT_EQ(text, complete(R"({"prompt":"The ","max_tokens":32,"temperature":0})"));
  // Sent as produced: the events came in several reads over time, not as one block at the end.
  ASSERT_GE(s.pieces.size(), 2u);
  EXPECT_EQ(data_lines(s.pieces.front().data).size() < events.size(), true);
  EXPECT_LT(s.pieces.front().at, s.pieces.back().at);
}

TEST_F(OpenAi, ChatStreamSendsChunks) {
  auto c = http_client::connect(port());
  c.set_timeout(std::chrono::seconds(10));
  request req{http::verb::post, "/v1/chat/completions", 11};
  req.body() = R"({"messages":[{"role":"user","content":"hello"}],"max_tokens":4,"stream":true})";
  c.send(req);
  auto s = c.read_streaming();
  ASSERT_TRUE(s.complete);
  auto events = data_lines(s.body());
  ASSERT_EQ(events.size(), 5u) << s.body();
  EXPECT_EQ(events.back(), "[DONE]");
  for (int i = 0; i < 4; ++i) {
    auto v = parse_json(events[i]);
    EXPECT_EQ(v.at("object"), "chat.completion.chunk");
    EXPECT_EQ(v.at("choices").as_array().at(0).at("delta").at("content").as_string().size(), 1u);
  }
  EXPECT_EQ(parse_json(events[3]).at("usage").at("completion_tokens"), 4);
}

TEST_F(OpenAi, BadRequestsAre400WithJsonError) {
  for (const char* body :
       {R"({"prompt":)", R"({"max_tokens":3})", R"({"prompt":"x","max_tokens":0})",
        R"({"prompt":"x","temperature":"hot"})", R"({"prompt":"x","stream":"yes"})", "[]"}) {
    auto r = post("/v1/completions", body);
    EXPECT_EQ(r.result_int(), 400u) << body;
    auto v = parse_json(r.body());
    ASSERT_TRUE(v.is_object() && v.as_object().contains("error")) << r.body();
    EXPECT_TRUE(v.at("error").at("message").is_string());
  }
  auto r = post("/v1/chat/completions", R"({"messages":[]})");
  EXPECT_EQ(r.result_int(), 400u);
  auto infer = post("/v2/models/tiny/infer", "{}");
  EXPECT_EQ(infer.result_int(), 400u);
  EXPECT_TRUE(parse_json(infer.body()).as_object().contains("error"));
}

// A client that goes away mid-stream leaves the decode batch: generation stops long before
// max_tokens.
TEST_F(OpenAi, DisconnectedStreamStopsGenerating) {
  const auto tokens = [&] {
    return metric_sum(scrape(port()), "modelgate_backend_generated_tokens_total").value_or(0);
  };
  const double before = tokens();
  {
    auto c = http_client::connect(port());
    request req{http::verb::post, "/v1/completions", 11};
    req.body() = R"({"prompt":"x","max_tokens":4096,"stream":true})";
    c.send(req);
    streamed_response s;
    c.read_header(s);
    ASSERT_TRUE(c.read_piece(s));
    c.close();
  }
  ASSERT_TRUE(eventually(
      [&] { return metric_sum(scrape(port()), "modelgate_backend_in_flight") == 0.0; },
      std::chrono::seconds(5)));
  const double after = tokens();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(tokens(), after) << "still generating for nobody";
  EXPECT_LT(after - before, 4096.0);
}

TEST_F(OpenAi, GeneratedTokensAreCounted) {
  const double before =
      metric_sum(scrape(port()), "modelgate_backend_generated_tokens_total").value_or(0);
  complete(R"({"prompt":"a","max_tokens":7})");
  // The decode thread counts a step's tokens just after handing them over, so the count may
  // trail the response by a moment.
  double after = 0;
  EXPECT_TRUE(eventually([&] {
    after = metric_sum(scrape(port()), "modelgate_backend_generated_tokens_total").value_or(0);
    return after - before >= 7.0;
  }));
  EXPECT_EQ(after - before, 7.0);
}

}  // namespace
}  // namespace modelgate::test_support
