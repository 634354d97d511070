#include "proxy/cache/cacheability.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace modelgate::cache {
namespace {

using std::chrono::seconds;

route_policy enabled() {
  route_policy p;
  p.enabled = true;
  return p;
}

struct request_case {
  const char* name;
  route_policy policy;
  const char* method;
  const char* body;
  const char* cache_control;
  request_action action;
  bypass_reason reason;
  std::optional<duration> max_age;
};

TEST(Cacheability, RequestRulesTable) {
  auto always = enabled();
  always.generation = generation_rule::always;
  const std::vector<request_case> cases = {
      {"disabled route", route_policy{}, "POST", R"({"prompt":"x","temperature":0})", "",
       request_action::bypass, bypass_reason::disabled, {}},
      {"put", enabled(), "PUT", "", "", request_action::bypass, bypass_reason::method, {}},
      {"head", enabled(), "HEAD", "", "", request_action::bypass, bypass_reason::method, {}},
      {"get", enabled(), "GET", "", "", request_action::lookup, bypass_reason::none, {}},
      {"temperature 0", enabled(), "POST", R"({"prompt":"x","temperature":0})", "",
       request_action::lookup, bypass_reason::none, {}},
      {"temperature 0.0", enabled(), "POST", R"({"messages":[],"temperature":0.0})", "",
       request_action::lookup, bypass_reason::none, {}},
      {"temperature 0.7", enabled(), "POST", R"({"prompt":"x","temperature":0.7})", "",
       request_action::bypass, bypass_reason::nondeterministic, {}},
      {"temperature as string", enabled(), "POST", R"({"prompt":"x","temperature":"0"})", "",
       request_action::bypass, bypass_reason::nondeterministic, {}},
      {"no temperature", enabled(), "POST", R"({"messages":[{"role":"user"}]})", "",
       request_action::bypass, bypass_reason::nondeterministic, {}},
      {"seed", enabled(), "POST", R"({"prompt":"x","temperature":1,"seed":42})", "",
       request_action::lookup, bypass_reason::none, {}},
      {"null seed", enabled(), "POST", R"({"prompt":"x","seed":null})", "",
       request_action::bypass, bypass_reason::nondeterministic, {}},
      {"always", always, "POST", R"({"prompt":"x","temperature":1})", "", request_action::lookup,
       bypass_reason::none, {}},
      {"kserve infer", enabled(), "POST", R"({"inputs":[{"name":"x","data":[1]}]})", "",
       request_action::lookup, bypass_reason::none, {}},
      {"not json", enabled(), "POST", "prompt=x", "", request_action::lookup, bypass_reason::none, {}},
      {"json array", enabled(), "POST", R"([{"prompt":"x"}])", "", request_action::lookup,
       bypass_reason::none, {}},
      {"client no-store", enabled(), "POST", R"({"inputs":[]})", "no-store",
       request_action::bypass, bypass_reason::client_no_store, {}},
      {"no-store beats always", always, "POST", R"({"prompt":"x"})", "max-age=5, no-store",
       request_action::bypass, bypass_reason::client_no_store, {}},
      {"client no-cache", enabled(), "POST", R"({"inputs":[]})", "no-cache",
       request_action::refresh, bypass_reason::none, {}},
      {"client max-age=0", enabled(), "POST", R"({"inputs":[]})", "max-age=0",
       request_action::refresh, bypass_reason::none, {}},
      {"client max-age=30", enabled(), "POST", R"({"inputs":[]})", "max-age=30",
       request_action::lookup, bypass_reason::none, seconds(30)},
      {"nondeterministic beats no-cache", enabled(), "POST", R"({"prompt":"x"})", "no-cache",
       request_action::bypass, bypass_reason::nondeterministic, {}},
  };
  for (const auto& c : cases) {
    auto body = request_body::parse(c.body);
    auto d = decide_request(c.policy, c.method, body, parse_cache_control(c.cache_control));
    EXPECT_EQ(d.action, c.action) << c.name;
    EXPECT_EQ(d.reason, c.reason) << c.name << ": " << to_string(d.reason);
    EXPECT_EQ(d.max_age, c.max_age) << c.name;
  }
}

TEST(Cacheability, GenerationDetection) {
  EXPECT_TRUE(is_generation_request(request_body::parse(R"({"prompt":"x"})")));
  EXPECT_TRUE(is_generation_request(request_body::parse(R"({"messages":[]})")));
  EXPECT_FALSE(is_generation_request(request_body::parse(R"({"inputs":[]})")));
  EXPECT_FALSE(is_generation_request(request_body::parse(R"(["prompt"])")));
  EXPECT_FALSE(is_generation_request(request_body::parse("prompt")));
  EXPECT_TRUE(is_deterministic(request_body::parse(R"({"temperature":-0.0})")));
  EXPECT_FALSE(is_deterministic(request_body::parse(R"({"temperature":1e-9})")));
}

struct response_case {
  const char* name;
  unsigned status;
  const char* cache_control;
  const char* vary;
  duration route_ttl;
  bool store;
  store_reason reason;
  duration ttl;
};

TEST(Cacheability, ResponseRulesTable) {
  const std::vector<response_case> cases = {
      {"200 plain", 200, "", "", seconds(60), true, store_reason::none, seconds(60)},
      {"201", 201, "", "", seconds(60), false, store_reason::status, {}},
      {"404", 404, "", "", seconds(60), false, store_reason::status, {}},
      {"500", 500, "", "", seconds(60), false, store_reason::status, {}},
      {"206", 206, "", "", seconds(60), false, store_reason::status, {}},
      {"no-store", 200, "no-store", "", seconds(60), false, store_reason::upstream_no_store, {}},
      {"private", 200, "private, max-age=100", "", seconds(60), false, store_reason::upstream_private, {}},
      {"no-cache", 200, "no-cache", "", seconds(60), false, store_reason::upstream_no_cache, {}},
      {"max-age shorter", 200, "max-age=10", "", seconds(60), true, store_reason::none, seconds(10)},
      {"max-age longer", 200, "public, max-age=600", "", seconds(60), true, store_reason::none, seconds(60)},
      {"s-maxage wins", 200, "max-age=5, s-maxage=20", "", seconds(60), true, store_reason::none,
       seconds(20)},
      {"max-age=0", 200, "max-age=0", "", seconds(60), false, store_reason::zero_ttl, {}},
      {"zero route ttl", 200, "", "", seconds(0), false, store_reason::zero_ttl, {}},
      {"vary star", 200, "", "accept, * ", seconds(60), false, store_reason::vary_star, {}},
      {"vary names", 200, "", "accept-encoding", seconds(60), true, store_reason::none, seconds(60)},
      {"vary starry name", 200, "", "x-*", seconds(60), true, store_reason::none, seconds(60)},
  };
  for (const auto& c : cases) {
    auto d = decide_response(c.status, parse_cache_control(c.cache_control), c.route_ttl, c.vary);
    EXPECT_EQ(d.store, c.store) << c.name;
    EXPECT_EQ(d.reason, c.reason) << c.name << ": " << to_string(d.reason);
    if (c.store) {
      EXPECT_EQ(d.ttl, c.ttl) << c.name;
    }
  }
}

}  // namespace
}  // namespace modelgate::cache
