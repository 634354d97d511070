// Small pure pieces of the cache wiring: the admin query parser and the API-key stand-in.

#include "proxy/admin/cache_admin.hpp"
#include "proxy/http/cache_stage.hpp"

#include <gtest/gtest.h>

using namespace modelgate::proxy;

TEST(CacheAdmin, QueryParamDecodesPercentEscapes) {
  EXPECT_EQ(query_param("route=%2Fv1%2F", "route"), "/v1/");
  EXPECT_EQ(query_param("a=1&route=chat+bot", "route"), "chat bot");
  EXPECT_EQ(query_param("route=", "route"), "");
  EXPECT_EQ(query_param("routes=x", "route"), std::nullopt);
  EXPECT_EQ(query_param("route=%2", "route"), std::nullopt);
  EXPECT_EQ(query_param("route=%zz", "route"), std::nullopt);
}

TEST(CacheStage, CallerFingerprintSeparatesKeysAndHidesThem) {
  cache_stage::request a, b, c, none;
  a.set(boost::beast::http::field::authorization, "Bearer key-one");
  b.set(boost::beast::http::field::authorization, "Bearer key-two");
  c.set("x-api-key", "Bearer key-one");
  EXPECT_EQ(caller_fingerprint(none), "");
  auto fa = caller_fingerprint(a);
  EXPECT_EQ(fa.size(), 32u);
  EXPECT_EQ(fa, caller_fingerprint(a));
  EXPECT_NE(fa, caller_fingerprint(b));
  EXPECT_NE(fa, caller_fingerprint(c)) << "the header it came in is part of it";
  EXPECT_EQ(fa.find("key-one"), std::string::npos);
}
