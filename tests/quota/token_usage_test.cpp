// Token estimates from requests and usage from JSON and SSE responses, including bad input.
#include "proxy/quota/token_usage.hpp"

#include <gtest/gtest.h>

namespace modelgate::quota {
namespace {

TEST(RequestedMaxTokens, FromBody) {
  EXPECT_EQ(requested_max_tokens(R"({"model":"m","max_tokens":256})"), 256u);
  EXPECT_EQ(requested_max_tokens(R"({"max_completion_tokens":64})"), 64u);
  // Both: the larger, which is what a server may honour (issue 14: 1 reserved for 4096 streamed).
  EXPECT_EQ(requested_max_tokens(R"({"max_tokens":5,"max_completion_tokens":64})"), 64u);
  EXPECT_EQ(requested_max_tokens(R"({"max_tokens":4096,"max_completion_tokens":1})"), 4096u);
  EXPECT_FALSE(requested_max_tokens(R"({"max_tokens":-1})"));
  EXPECT_FALSE(requested_max_tokens(R"({"max_tokens":"256"})"));
  EXPECT_FALSE(requested_max_tokens(R"({"max_tokens":1.5})"));
  EXPECT_FALSE(requested_max_tokens(R"([1,2])"));
  EXPECT_FALSE(requested_max_tokens("not json"));
  EXPECT_FALSE(requested_max_tokens(""));
  EXPECT_EQ(token_estimate(R"({"max_tokens":256})", 1000), 256u);
  EXPECT_EQ(token_estimate(R"({"prompt":"hi"})", 1000), 1001u);  // + 2 characters, rounded up
  EXPECT_EQ(token_estimate("garbage", 1000), 1000u);
  EXPECT_EQ(token_estimate(R"({"max_tokens":1,"max_completion_tokens":4096,"stream":true})", 8),
            4096u);
}

TEST(TokenUsage, ThePromptIsEstimatedAtFourCharactersAToken) {
  const std::string text(400, 'a');
  EXPECT_EQ(prompt_token_estimate(R"({"prompt":")" + text + R"("})"), 100u);
  EXPECT_EQ(prompt_token_estimate(R"({"prompt":[")" + text + R"(",")" + text + R"("]})"), 200u);
  EXPECT_EQ(prompt_token_estimate(R"({"messages":[{"role":"system","content":")" + text +
                                  R"("},{"role":"user","content":[{"type":"text","text":")" +
                                  text + R"("}]}]})"),
            200u);
  EXPECT_EQ(prompt_token_estimate(R"({"input":"abcde"})"), 2u);
  EXPECT_EQ(prompt_token_estimate(R"({"model":"m"})"), 0u);
  EXPECT_EQ(prompt_token_estimate("not json"), 0u);
  EXPECT_EQ(token_estimate(R"({"max_tokens":10,"prompt":")" + text + R"("})", 1000), 110u);
}

TEST(UsageJson, TotalOrSumOfParts) {
  EXPECT_EQ(usage_total_tokens(
                R"({"id":"x","usage":{"prompt_tokens":9,"completion_tokens":12,"total_tokens":21}})"),
            21u);
  EXPECT_EQ(usage_total_tokens(R"({"usage":{"prompt_tokens":9,"completion_tokens":12}})"), 21u);
  EXPECT_EQ(usage_total_tokens(R"({"usage":{"input_tokens":3,"output_tokens":4}})"), 7u);
  EXPECT_EQ(usage_total_tokens(R"({"usage":{"total_tokens":0}})"), 0u);
}

TEST(UsageJson, BadInput) {
  EXPECT_FALSE(usage_total_tokens(""));
  EXPECT_FALSE(usage_total_tokens("{"));
  EXPECT_FALSE(usage_total_tokens(R"({"usage":null})"));
  EXPECT_FALSE(usage_total_tokens(R"({"usage":{"total_tokens":"21"}})"));
  EXPECT_FALSE(usage_total_tokens(R"({"usage":{"total_tokens":-3}})"));
  EXPECT_FALSE(usage_total_tokens(R"({"usage":{"prompt_tokens":9}})"));
  EXPECT_FALSE(usage_total_tokens(R"({"choices":[]})"));
  EXPECT_FALSE(usage_total_tokens(R"([{"usage":{"total_tokens":1}}])"));
  EXPECT_FALSE(usage_total_tokens(R"({"usage":{"total_tokens":21}} trailing)"));
}

const std::string stream =
    "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}],\"usage\":null}\n\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\"lo\"}}],\"usage\":null}\n\n"
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2,"
    "\"total_tokens\":7}}\n\n"
    "data: [DONE]\n\n";

TEST(SseUsage, WholeStream) {
  sse_usage_scanner s;
  s.feed(stream);
  EXPECT_EQ(s.total_tokens(), 7u);
  EXPECT_EQ(s.events(), 4u);
}

TEST(SseUsage, EverySplitPointGivesTheSameAnswer) {
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    sse_usage_scanner s;
    s.feed(stream.substr(0, cut));
    s.feed(stream.substr(cut));
    s.finish();
    EXPECT_EQ(s.total_tokens(), 7u) << "cut at " << cut;
    EXPECT_EQ(s.events(), 4u) << "cut at " << cut;
  }
}

TEST(SseUsage, ByteByByteWithCrLfAndCr) {
  for (std::string_view eol : {"\r\n", "\r", "\n"}) {
    std::string text;
    for (char c : stream) {
      if (c == '\n') text += eol;
      else text += c;
    }
    sse_usage_scanner s;
    for (char c : text) s.feed(std::string_view(&c, 1));
    EXPECT_EQ(s.total_tokens(), 7u) << "eol size " << eol.size();
    EXPECT_EQ(s.events(), 4u) << "eol size " << eol.size();
  }
}

TEST(SseUsage, LastUsageWinsAndOtherFieldsAreIgnored) {
  sse_usage_scanner s;
  s.feed(": keep-alive comment\n"
         "event: message\nid: 1\nretry: 100\n"
         "data: {\"usage\":{\"total_tokens\":3}}\n\n"
         "data-x: {\"usage\":{\"total_tokens\":99}}\n\n"
         "data: {\"usage\":{\"total_tokens\":11}}\n\n");
  EXPECT_EQ(s.total_tokens(), 11u);
}

TEST(SseUsage, MultiLineDataIsJoined) {
  sse_usage_scanner s;
  s.feed("data: {\"usage\":\ndata: {\"total_tokens\":42}}\n\n");
  EXPECT_EQ(s.total_tokens(), 42u);
}

TEST(SseUsage, UnterminatedLastEventCountsOnlyAfterFinish) {
  sse_usage_scanner s;
  s.feed("data: {\"usage\":{\"total_tokens\":8}}");
  EXPECT_FALSE(s.total_tokens());
  s.finish();
  EXPECT_EQ(s.total_tokens(), 8u);
}

TEST(SseUsage, BadEventsAreSkipped) {
  sse_usage_scanner s;
  s.feed("data: {\"usage\":{\"total_tokens\":5}}\n\n"
         "data: {\"usage\": not json\n\n"
         "data: [DONE]\n\n");
  EXPECT_EQ(s.total_tokens(), 5u);
  sse_usage_scanner none;
  none.feed("data: hello\n\ndata: {\"usage\":{\"total_tokens\":\"x\"}}\n\n");
  none.finish();
  EXPECT_FALSE(none.total_tokens());
}

TEST(SseUsage, OversizedEventIsDroppedAndMemoryBounded) {
  sse_usage_scanner s(64);
  s.feed("data: {\"usage\":{\"total_tokens\":1}}\n\n");
  // An event far larger than the bound, delivered in pieces without a newline for a while.
  s.feed("data: {\"usage\":{\"total_tokens\":2},\"pad\":\"");
  for (int i = 0; i < 100; ++i) s.feed(std::string(100, 'x'));
  s.feed("\"}\n\n");
  EXPECT_EQ(s.total_tokens(), 1u);
  // The scanner recovers for the next event.
  s.feed("data: {\"usage\":{\"total_tokens\":3}}\n\n");
  EXPECT_EQ(s.total_tokens(), 3u);
}

}  // namespace
}  // namespace modelgate::quota
