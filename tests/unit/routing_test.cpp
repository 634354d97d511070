#include "proxy/routing/round_robin.hpp"
#include "proxy/routing/route_table.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace modelgate::proxy;

TEST(RouteTable, FirstPrefixMatchWinsAndQueryIsIgnored) {
  std::vector<modelgate::config::route> routes(3);
  routes[0].path_prefix = "/v1/chat";
  routes[1].path_prefix = "/v1/";
  routes[2].path_prefix = "/v2/";
  route_table t(routes);
  EXPECT_EQ(t.match("/v1/chat/completions"), 0u);
  EXPECT_EQ(t.match("/v1/completions?x=/v2/"), 1u);
  EXPECT_EQ(t.match("/v2/models/m/infer"), 2u);
  EXPECT_EQ(t.match("/v3/"), std::nullopt);
  EXPECT_EQ(t.match("/x?/v1/"), std::nullopt);
}

TEST(RouteTable, EmptyPrefixMatchesEverything) {
  std::vector<modelgate::config::route> routes(1);
  route_table t(routes);
  EXPECT_EQ(t.match("/anything"), 0u);
}

TEST(RoundRobin, SmoothWeightedOrder) {
  round_robin rr({5, 1, 1});
  std::string order;
  for (int i = 0; i < 7; ++i) order += static_cast<char>('a' + *rr.pick([](auto) { return true; }));
  EXPECT_EQ(order, "aabacaa");
}

TEST(RoundRobin, SkipsIneligibleAndReportsNone) {
  round_robin rr({1, 1, 1});
  for (int i = 0; i < 6; ++i) EXPECT_NE(rr.pick([](std::size_t b) { return b != 1; }), 1u);
  EXPECT_EQ(rr.pick([](auto) { return false; }), std::nullopt);
}

TEST(RoundRobin, SharesFollowWeights) {
  round_robin rr({3, 1});
  int counts[2] = {};
  for (int i = 0; i < 400; ++i) ++counts[*rr.pick([](auto) { return true; })];
  EXPECT_EQ(counts[0], 300);
  EXPECT_EQ(counts[1], 100);
}

TEST(RouteTable, HostHeaderAndModelMatchers) {
  std::vector<modelgate::config::route> routes(5);
  routes[0].host = "api.example.com";
  routes[0].path_prefix = "/admin/";
  routes[1].header = modelgate::config::header_match{"x-tier", "gold"};
  routes[2].models = {"llama-3-8b", "mistral"};
  routes[2].path_prefix = "/v1/";
  routes[3].path = "/v2/health/live";
  routes[4].path_prefix = "/v1/";
  route_table t(routes);
  EXPECT_TRUE(t.needs_model());

  boost::beast::http::fields gold;
  gold.set("X-Tier", "gold");
  boost::beast::http::fields silver;
  silver.set("x-tier", "silver");

  EXPECT_EQ(t.match({"/admin/x", "API.example.com:8443", nullptr, {}}), 0u);
  EXPECT_EQ(t.match({"/admin/x", "other.com", &gold, {}}), 1u);
  EXPECT_EQ(t.match({"/v1/chat", "h", &silver, std::string_view("mistral")}), 2u);
  EXPECT_EQ(t.match({"/v1/chat", "h", &silver, std::string_view("gpt")}), 4u);
  EXPECT_EQ(t.match({"/v1/chat", "h", nullptr, std::nullopt}), 4u);
  EXPECT_EQ(t.match({"/v2/health/live", "h", nullptr, {}}), 3u);
  EXPECT_EQ(t.match({"/v2/health/live/x", "h", nullptr, {}}), std::nullopt);
}

TEST(RouteTable, HostMatchIgnoresThePortOfIpv6Literals) {
  std::vector<modelgate::config::route> routes(2);
  routes[0].host = "[::1]";
  routes[1].host = "localhost";
  route_table t(routes);
  EXPECT_EQ(t.match({"/", "[::1]", nullptr, {}}), 0u);
  EXPECT_EQ(t.match({"/", "[::1]:8443", nullptr, {}}), 0u);
  EXPECT_EQ(t.match({"/", "localhost:8443", nullptr, {}}), 1u);
  EXPECT_EQ(t.match({"/", "[::2]:8443", nullptr, {}}), std::nullopt);
}

// Before the body names the model, a key can be required only when no public route could match.
TEST(RouteTable, MayMatchPublicIgnoresOnlyTheModel) {
  std::vector<modelgate::config::route> routes(3);
  routes[0].path_prefix = "/v1/";
  routes[0].models = {"free-model"};
  routes[0].is_public = true;
  routes[1].path_prefix = "/health";
  routes[1].is_public = true;
  routes[1].host = "internal";
  routes[2].path_prefix = "/v1/";
  route_table t(routes);
  EXPECT_TRUE(t.may_match_public({"/v1/chat", "h", nullptr, std::nullopt}));
  EXPECT_TRUE(t.may_match_public({"/health", "internal:80", nullptr, std::nullopt}));
  EXPECT_FALSE(t.may_match_public({"/health", "other", nullptr, std::nullopt}));
  EXPECT_FALSE(t.may_match_public({"/v2/x", "h", nullptr, std::nullopt}));
  routes[0].is_public = false;
  EXPECT_FALSE(route_table(routes).may_match_public({"/v1/chat", "h", nullptr, std::nullopt}));
}
