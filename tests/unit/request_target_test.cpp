// RFC 9112 §3.2 request targets and the paths the proxy refuses rather than normalises (issue 14:
// a key allowed only /v1/chat/ reached /v1/chat/../completions).
#include "proxy/http/request_target.hpp"

#include <gtest/gtest.h>

using namespace modelgate::proxy;
using boost::beast::http::verb;

namespace {
bool refused(std::string_view target, verb method = verb::get) {
  return check_request_target(method, target).error == proxy_errc::bad_target;
}
}  // namespace

TEST(RequestTarget, OriginFormPassesUnchanged) {
  for (const char* t : {"/", "/v1/chat/completions", "/v1/models/gpt-3.5", "/v1/..x/y",
                        "/v1/x?next=/../y", "/v1/a%20b", "/v2/models/m/infer?a=1&b=%2F"}) {
    SCOPED_TRACE(t);
    auto v = check_request_target(verb::post, t);
    EXPECT_FALSE(v.error);
    EXPECT_FALSE(v.origin_form);
  }
}

TEST(RequestTarget, DotSegmentsAndDangerousEscapesAreRefused) {
  for (const char* t : {"/v1/chat/../completions", "/v1/chat/./x", "/..", "/.", "/v1/..",
                        "/v1/%2e%2e/x", "/v1/%2E%2e/x", "/v1/%2e/x", "/v1/a%2fb", "/v1/a%2Fb",
                        "/v1/a%5cb", "/v1/a%00b", "/v1/..;/x", "/v1/.;a/x"}) {
    SCOPED_TRACE(t);
    EXPECT_TRUE(refused(t));
  }
}

TEST(RequestTarget, WhatIsNotAnOriginFormIsRefused) {
  for (const char* t : {"", "!", "foo", "/v1/models#/../completions", "/v1/a\\b", "/v1/a%zz",
                        "/v1/a b", "a:443", "ftp://h/x", "http://user@h/x", "http:/x", "http://"}) {
    SCOPED_TRACE(t);
    EXPECT_TRUE(refused(t));
  }
  EXPECT_TRUE(refused("*", verb::get));
  EXPECT_FALSE(refused("*", verb::options));
}

TEST(RequestTarget, AbsoluteFormBecomesOriginFormAndHost) {
  auto v = check_request_target(verb::get, "http://api.example.com:8080/v1/models?x=1");
  ASSERT_FALSE(v.error);
  EXPECT_EQ(v.origin_form, "/v1/models?x=1");
  EXPECT_EQ(v.authority, "api.example.com:8080");
  v = check_request_target(verb::get, "HTTPS://h");
  ASSERT_FALSE(v.error);
  EXPECT_EQ(v.origin_form, "/");
  EXPECT_EQ(v.authority, "h");
  EXPECT_TRUE(refused("http://h/v1/../x"));
  EXPECT_TRUE(refused("http://h/v1/%2e%2e/x"));
}
