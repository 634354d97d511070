#include "proxy/observe/access_log.hpp"

#include <gtest/gtest.h>

using namespace modelgate::proxy;

TEST(AccessLog, FormatsOneJsonLine) {
  access_record r;
  r.time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1'700'000'000'123));
  r.request_id = "abc";
  r.client_ip = "127.0.0.1";
  r.method = "POST";
  r.path = "/v1/x?q=\"1\"";
  r.route = "/v1/";
  r.upstream = "127.0.0.1:9001";
  r.status = 200;
  r.bytes_in = 10;
  r.bytes_out = 20;
  r.duration_s = 0.5;
  r.upstream_ttfb_s = 0.25;
  EXPECT_EQ(format_access_record(r),
            "{\"time\":\"2023-11-14T22:13:20.123Z\",\"request_id\":\"abc\",\"client\":\"127.0.0.1\","
            "\"method\":\"POST\",\"path\":\"/v1/x?q=\\\"1\\\"\",\"route\":\"/v1/\",\"status\":200,"
            "\"bytes_in\":10,\"bytes_out\":20,\"duration_s\":0.500000,\"upstream\":\"127.0.0.1:9001\","
            "\"upstream_ttfb_s\":0.250000}");
}

TEST(AccessLog, EscapesControlCharactersAndMarksErrors) {
  access_record r;
  r.path = std::string_view("/a\nb\x01", 5);
  r.error = "upstream_timeout";
  r.status = 504;
  auto line = format_access_record(r);
  EXPECT_NE(line.find("\"path\":\"/a\\nb\\u0001\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"upstream_ttfb_s\":null"), std::string::npos);
  EXPECT_NE(line.find("\"error\":\"upstream_timeout\""), std::string::npos);
}
