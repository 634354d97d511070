// Unit tests for the backend's read limits (backend/api/request_limits.hpp): what Beast does
// with the bounded buffer and limited parser the server uses, over an in-memory stream.

#include "backend/api/request_limits.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <gtest/gtest.h>

#include <string>

namespace mb = modelgate::backend;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

const std::string chunked_head =
    "POST /v2/models/m/infer HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\n\r\n";

struct read_outcome {
  boost::system::error_code ec;
  std::size_t buffer_capacity = 0;
  std::string body;
};

// Reads one request from `input` as the server does: bounded buffer, limited parser.
read_outcome read_one(const std::string& input) {
  boost::asio::io_context io;
  beast::test::stream s(io, input);
  s.close_remote();
  beast::flat_buffer buf(mb::max_read_buffer_bytes);
  http::request_parser<http::string_body> p;
  mb::limit(p);
  read_outcome out;
  http::read(s, buf, p, out.ec);
  out.buffer_capacity = buf.capacity();
  if (!out.ec) out.body = p.get().body();
  return out;
}

unsigned status_of(const boost::system::error_code& ec) {
  auto r = mb::refusal_for(ec);
  return r ? r->status : 0;
}

}  // namespace

// Issue 14: "4;" and 300 MiB of chunk extension grew the read buffer without bound.
TEST(RequestLimits, AChunkExtensionLongerThanTheBufferIsA400) {
  const auto r = read_one(chunked_head + "4;" + std::string(1 << 20, 'a') + "\r\nabcd\r\n0\r\n\r\n");
  EXPECT_EQ(r.ec, http::error::buffer_overflow) << r.ec.message();
  EXPECT_LE(r.buffer_capacity, mb::max_read_buffer_bytes);
  EXPECT_EQ(status_of(r.ec), 400u);
}

// Issue 14: 200 MiB of trailers made Beast throw std::length_error ("field value too large")
// out of io_context::run, which ended the process.
TEST(RequestLimits, ATrailerLongerThanTheBufferIsA400NotAnException) {
  read_outcome r;
  ASSERT_NO_THROW(r = read_one(chunked_head + "4\r\nabcd\r\n0\r\nX-T: " +
                               std::string(100 * 1024, 'a') + "\r\n\r\n"));
  EXPECT_EQ(r.ec, http::error::buffer_overflow) << r.ec.message();
  EXPECT_LE(r.buffer_capacity, mb::max_read_buffer_bytes);
  EXPECT_EQ(status_of(r.ec), 400u);
}

TEST(RequestLimits, ReasonableExtensionsAndTrailersStillParse) {
  const auto r = read_one(chunked_head + "4;" + std::string(8 * 1024, 'e') + "\r\nabcd\r\n0\r\nX-T: " +
                          std::string(8 * 1024, 't') + "\r\n\r\n");
  EXPECT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.body, "abcd");
}

TEST(RequestLimits, AnOverLongHeaderSectionIsA431) {
  const auto r = read_one("GET / HTTP/1.1\r\nHost: b\r\nX-Big: " +
                          std::string(mb::max_header_bytes, 'h') + "\r\n\r\n");
  EXPECT_EQ(r.ec, http::error::header_limit) << r.ec.message();
  EXPECT_EQ(status_of(r.ec), 431u);
  EXPECT_FALSE(read_one("GET / HTTP/1.1\r\nHost: b\r\nX-Big: " + std::string(16 * 1024, 'h') +
                        "\r\n\r\n")
                   .ec)
      << "what the proxy forwards with its default max_header_bytes (16 KiB) fits";
}

TEST(RequestLimits, WhoIsAnswered) {
  EXPECT_EQ(status_of(http::error::body_limit), 413u);
  EXPECT_EQ(status_of(http::error::bad_chunk), 400u);
  EXPECT_EQ(status_of(http::error::bad_transfer_encoding), 400u);
  EXPECT_EQ(status_of(http::error::bad_version), 400u);
  // Nobody to answer: the client left or went quiet.
  EXPECT_EQ(status_of(http::error::end_of_stream), 0u);
  EXPECT_EQ(status_of(http::error::partial_message), 0u);
  EXPECT_EQ(status_of(beast::error::timeout), 0u);
  EXPECT_EQ(status_of(boost::asio::error::connection_reset), 0u);
  EXPECT_EQ(status_of(boost::asio::error::eof), 0u);
}
