// Who may use the admin listener (issue 14): Host, Origin and Content-Type rules, and the answer
// to a read that broke a limit.

#include "proxy/admin/admin_guard.hpp"

#include <boost/beast/http/error.hpp>
#include <boost/asio/error.hpp>
#include <gtest/gtest.h>

using namespace modelgate::proxy;
using boost::beast::http::verb;
namespace http_error = boost::beast::http;

namespace {

admin_request_view post(std::optional<std::string_view> host,
                        std::optional<std::string_view> type = "application/json") {
  admin_request_view v;
  v.method = verb::post;
  v.host = host;
  v.content_type = type;
  return v;
}

unsigned status_of(const admin_request_view& v, std::string_view listener = "127.0.0.1") {
  auto no = check_admin_request(v, listener);
  return no ? no->status : 200;
}

}  // namespace

TEST(AdminGuard, LocalHostsWithOrWithoutPort) {
  for (const char* h : {"localhost", "LocalHost:9901", "127.0.0.1", "127.0.0.1:1", "[::1]",
                        "[::1]:9901", " localhost "})
    EXPECT_TRUE(is_local_host(h, "0.0.0.0")) << h;
  for (const char* h : {"evil.example", "evil.example:9901", "localhost.evil.example",
                        "127.0.0.1.nip.io", "localhost:", "localhost:x", "localhost:123456",
                        "[::1", "::1", "", ":9901", "0.0.0.0", "0.0.0.0:9901", "[::]:9901"})
    EXPECT_FALSE(is_local_host(h, "0.0.0.0")) << h;
}

TEST(AdminGuard, TheListenersOwnAddressCounts) {
  EXPECT_TRUE(is_local_host("10.0.0.5:9901", "10.0.0.5"));
  EXPECT_TRUE(is_local_host("10.0.0.5", "10.0.0.5"));
  EXPECT_FALSE(is_local_host("10.0.0.6:9901", "10.0.0.5"));
  EXPECT_TRUE(is_local_host("[fd00::5]:9901", "fd00::5"));
  EXPECT_TRUE(is_local_host("[FD00::5]", "fd00::5"));
  EXPECT_FALSE(is_local_host("fd00::5", "fd00::5")) << "an IPv6 Host needs brackets";
  EXPECT_FALSE(is_local_host("[::]:9901", "::")) << "the unspecified address names no host";
}

TEST(AdminGuard, PostRules) {
  EXPECT_EQ(status_of(post("127.0.0.1:9901")), 200u);
  EXPECT_EQ(status_of(post("localhost", "application/json; charset=utf-8")), 200u);
  EXPECT_EQ(status_of(post("localhost", " Application/JSON ")), 200u);
  EXPECT_EQ(status_of(post("evil.example")), 403u);
  EXPECT_EQ(status_of(post("localhost", "text/plain")), 415u);
  EXPECT_EQ(status_of(post("localhost", "application/jsonx")), 415u);
  EXPECT_EQ(status_of(post("localhost", "multipart/form-data; boundary=x")), 415u);
  EXPECT_EQ(status_of(post("localhost", std::nullopt)), 415u) << "a no-body fetch() sends none";
  EXPECT_EQ(status_of(post(std::nullopt)), 400u);
  auto http10 = post(std::nullopt);
  http10.version = 10;
  EXPECT_EQ(status_of(http10), 400u) << "a state change needs a Host whatever the version";
  auto with_origin = post("localhost");
  with_origin.has_origin = true;
  EXPECT_EQ(status_of(with_origin), 403u);
  // A preflight is refused like the request it asks for.
  auto preflight = post("localhost", std::nullopt);
  preflight.method = verb::options;
  preflight.has_origin = true;
  EXPECT_EQ(status_of(preflight), 403u);
  // The order: a foreign host is refused before its content type is looked at.
  EXPECT_EQ(status_of(post("evil.example", "text/plain")), 403u);
}

TEST(AdminGuard, ReadsTakeAnyHostButNoOrigin) {
  admin_request_view get;
  get.host = "10.1.2.3:9901";
  EXPECT_EQ(status_of(get), 200u);
  get.has_origin = true;
  EXPECT_EQ(status_of(get), 403u);
  admin_request_view no_host;
  no_host.host = std::nullopt;
  EXPECT_EQ(status_of(no_host), 400u);
  no_host.version = 10;
  EXPECT_EQ(status_of(no_host), 200u) << "HTTP/1.0 may omit Host";
}

TEST(AdminGuard, ReadErrorsMapToAnAnswerOrNone) {
  using http_error::error;
  EXPECT_EQ(status_for_read_error(error::header_limit), 431u);
  EXPECT_EQ(status_for_read_error(error::body_limit), 413u);
  EXPECT_EQ(status_for_read_error(error::buffer_overflow), 400u);
  EXPECT_EQ(status_for_read_error(error::bad_chunk_extension), 400u);
  EXPECT_EQ(status_for_read_error(error::bad_version), 400u);
  EXPECT_EQ(status_for_read_error(error::end_of_stream), std::nullopt);
  EXPECT_EQ(status_for_read_error(error::partial_message), std::nullopt);
  EXPECT_EQ(status_for_read_error(boost::asio::error::connection_reset), std::nullopt);
}
