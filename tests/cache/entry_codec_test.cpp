#include "proxy/cache/entry_codec.hpp"
#include "proxy/cache/lru_store.hpp"
#include "tests/cache/test_support.hpp"

#include <gtest/gtest.h>

namespace modelgate::cache {
namespace {

using namespace std::chrono_literals;
using test::t0;

constexpr std::size_t big_cap = 1 << 20;

cache_entry sse_entry() {
  cache_entry e;
  e.status = 200;
  e.framing = body_framing::chunked;
  e.headers = {{"content-type", "text/event-stream"}, {"x-model", "m1"}};
  e.body = "data: a\n\ndata: bc\n\ndata: [DONE]\n\n";
  e.piece_ends = {9, 19, e.body.size()};
  e.route = "chat";
  e.stored_at = t0;
  e.expires_at = t0 + 60s;
  e.initial_age = 2s;
  return e;
}

TEST(EntryCodec, RoundTripAcrossProcesses) {
  auto e = sse_entry();
  auto bytes = encode_entry(e, t0 + 10s);
  // Another process, with an unrelated steady clock.
  const auto other_now = time_point{} + 5min;
  auto d = decode_entry(bytes, other_now, big_cap);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->status, 200u);
  EXPECT_EQ(d->framing, body_framing::chunked);
  ASSERT_EQ(d->headers.size(), 2u);
  EXPECT_EQ(d->headers[1].name, "x-model");
  EXPECT_EQ(d->headers[1].value, "m1");
  EXPECT_EQ(d->body, e.body);
  EXPECT_EQ(d->piece_ends, e.piece_ends);
  EXPECT_EQ(d->piece(1), "data: bc\n\n");
  EXPECT_EQ(d->route, "chat");
  EXPECT_EQ(d->age(other_now), 12s);              // 2 s upstream + 10 s in the first store
  EXPECT_EQ(d->expires_at, other_now + 50s);      // the time it had left
  EXPECT_EQ(encode_entry(*d, other_now), bytes);  // stable
}

TEST(EntryCodec, EmptyBody) {
  cache_entry e;
  e.stored_at = t0;
  e.expires_at = t0 + 1s;
  auto d = decode_entry(encode_entry(e, t0), t0, big_cap);
  ASSERT_NE(d, nullptr);
  EXPECT_TRUE(d->body.empty());
  EXPECT_EQ(d->piece_count(), 0u);
  EXPECT_EQ(d->framing, body_framing::content_length);
}

TEST(EntryCodec, EveryTruncationIsRejected) {
  auto bytes = encode_entry(sse_entry(), t0);
  for (std::size_t n = 0; n < bytes.size(); ++n)
    EXPECT_EQ(decode_entry(std::string_view(bytes).substr(0, n), t0, big_cap), nullptr) << n;
  EXPECT_EQ(decode_entry(bytes + "x", t0, big_cap), nullptr);  // trailing bytes
}

TEST(EntryCodec, CorruptionIsRejectedOrHarmless) {
  // Flip each byte: decoding must never crash, and what decodes must be self-consistent.
  auto bytes = encode_entry(sse_entry(), t0);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    for (unsigned char x : {0x01, 0x80, 0xff}) {
      auto bad = bytes;
      bad[i] = static_cast<char>(bad[i] ^ x);
      auto d = decode_entry(bad, t0, big_cap);
      if (!d) continue;
      ASSERT_TRUE(d->piece_ends.empty() || d->piece_ends.back() == d->body.size()) << i;
      for (std::size_t p = 0; p < d->piece_count(); ++p) EXPECT_FALSE(d->piece(p).empty()) << i;
    }
  }
}

TEST(EntryCodec, ForeignVersionRejected) {
  auto bytes = encode_entry(sse_entry(), t0);
  bytes[4] = '2';
  EXPECT_EQ(decode_entry(bytes, t0, big_cap), nullptr);
}

TEST(EntryCodec, BadPieceOffsetsRejected) {
  auto e = sse_entry();
  e.piece_ends = {9, 9, e.body.size()};  // an empty piece
  EXPECT_EQ(decode_entry(encode_entry(e, t0), t0, big_cap), nullptr);
  e.piece_ends = {9, 19};  // does not cover the body
  EXPECT_EQ(decode_entry(encode_entry(e, t0), t0, big_cap), nullptr);
  e.piece_ends = {};
  EXPECT_EQ(decode_entry(encode_entry(e, t0), t0, big_cap), nullptr);
}

TEST(EntryCodec, CapBoundsTheCharge) {
  auto e = sse_entry();
  auto bytes = encode_entry(e, t0);
  const auto charge = lru_store::charge_of(e);
  EXPECT_NE(decode_entry(bytes, t0, charge), nullptr);
  EXPECT_EQ(decode_entry(bytes, t0, charge - 1), nullptr);
}

TEST(EntryCodec, HugeDeclaredCountsDoNotAllocate) {
  // A header count of 2^32-1 with a few bytes behind it must be refused up front.
  std::string bytes = "MGCE1";
  bytes += std::string("\xc8\x00", 2);                  // status 200
  bytes += '\0';                                         // framing
  bytes += std::string(4, '\0');                         // age
  bytes += std::string("\xe8\x03\0\0\0\0\0\0", 8);       // ttl 1000 ms
  bytes += std::string(4, '\0');                         // route ""
  bytes += std::string("\xff\xff\xff\xff", 4);           // headers
  bytes += std::string(16, '\0');
  EXPECT_EQ(decode_entry(bytes, t0, big_cap), nullptr);
}

}  // namespace
}  // namespace modelgate::cache
