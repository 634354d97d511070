// The pure parts of the Redis store: RESP encoding, hiredis reader split across reads, script
// arguments and replies, error names.
#include "proxy/quota/redis_reply.hpp"
#include "proxy/quota/redis_scripts.hpp"
#include "proxy/quota/store_error.hpp"

#include <gtest/gtest.h>

namespace modelgate::quota {
namespace {

using namespace std::chrono_literals;

TEST(Resp, EncodesArraysOfBulkStrings) {
  std::string out;
  const std::string_view args[] = {"SET", "k", "", "a\r\nb"};
  encode_command(args, out);
  EXPECT_EQ(out, "*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n$4\r\na\r\nb\r\n");
}

TEST(Resp, ReaderHandlesEveryTypeAndSplits) {
  const std::string wire =
      "+OK\r\n-NOSCRIPT No matching script\r\n:42\r\n$5\r\nhello\r\n$-1\r\n"
      "*3\r\n:1\r\n*1\r\n$1\r\nx\r\n:-7\r\n";
  for (std::size_t cut = 0; cut <= wire.size(); ++cut) {
    resp_reader r;
    std::vector<redis_reply> got;
    bool failed = false;
    for (auto piece : {std::string_view(wire).substr(0, cut), std::string_view(wire).substr(cut)}) {
      ASSERT_TRUE(r.feed(piece));
      while (auto reply = r.next(failed)) got.push_back(std::move(*reply));
      ASSERT_FALSE(failed);
    }
    ASSERT_EQ(got.size(), 6u) << "cut " << cut;
    EXPECT_EQ(got[0].type, redis_reply::kind::status);
    EXPECT_EQ(got[0].str, "OK");
    EXPECT_TRUE(got[1].is_error("NOSCRIPT"));
    EXPECT_FALSE(got[1].is_error("WRONGTYPE"));
    EXPECT_EQ(got[2].integer, 42);
    EXPECT_EQ(got[3].str, "hello");
    EXPECT_EQ(got[4].type, redis_reply::kind::nil);
    ASSERT_EQ(got[5].elements.size(), 3u);
    EXPECT_EQ(got[5].elements[1].elements.at(0).str, "x");
    EXPECT_EQ(got[5].elements[2].integer, -7);
  }
}

TEST(Resp, ProtocolErrorIsReported) {
  resp_reader r;
  r.feed("?garbage\r\n");
  bool failed = false;
  EXPECT_FALSE(r.next(failed));
  EXPECT_TRUE(failed);
  r.reset();
  r.feed(":1\r\n");
  auto ok = r.next(failed);
  EXPECT_FALSE(failed);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->integer, 1);
}

TEST(RedisScripts, Sha1MatchesRedis) {
  // SHA-1 of "return 1", as `redis-cli SCRIPT LOAD "return 1"` prints it.
  EXPECT_EQ(redis_scripts::sha1_hex("return 1"), "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
  EXPECT_EQ(redis_scripts::sha1_hex(redis_scripts::admit_lua).size(), 40u);
  EXPECT_NE(redis_scripts::sha1_hex(redis_scripts::admit_lua),
            redis_scripts::sha1_hex(redis_scripts::reconcile_lua));
}

TEST(RedisScripts, KeysShareAHashTag) {
  auto k = redis_scripts::keys_for("mg", "team-a");
  EXPECT_EQ(k[0], "mg:{team-a}:rq");
  EXPECT_EQ(k[1], "mg:{team-a}:tk");
}

TEST(RedisScripts, ArgumentsInMicroseconds) {
  quota_limits q;
  q.requests_per_second = 3;  // 333333333 ns
  q.burst = 5;
  q.tokens_per_minute = 20000;  // 3 ms per token
  auto a = redis_scripts::admit_args(q, 256);
  EXPECT_EQ(a[0], "333333.333");
  EXPECT_EQ(a[1], "5");
  EXPECT_EQ(a[2], "3000.000");
  EXPECT_EQ(a[3], "20000");
  EXPECT_EQ(a[4], "256");
  auto none = redis_scripts::admit_args(quota_limits{}, 0);
  EXPECT_EQ(none[0], "0");
  EXPECT_EQ(none[2], "0");
  auto refund = redis_scripts::reconcile_args(q, 256, 100);
  ASSERT_TRUE(refund);
  EXPECT_EQ((*refund)[2], "-156");
  EXPECT_EQ((*redis_scripts::reconcile_args(q, 100, 256))[2], "156");
  EXPECT_FALSE(redis_scripts::reconcile_args(quota_limits{}, 1, 2));
}

redis_reply ints(std::initializer_list<long long> v) {
  redis_reply r;
  r.type = redis_reply::kind::array;
  for (auto i : v) {
    redis_reply e;
    e.type = redis_reply::kind::integer;
    e.integer = i;
    r.elements.push_back(e);
  }
  return r;
}

TEST(RedisScripts, ParseAdmitReplies) {
  quota_limits q;
  q.requests_per_second = 10;
  q.burst = 20;
  q.tokens_per_minute = 1000;
  auto ok = redis_scripts::parse_admit(ints({0, 0, 19, 100000, 744, 15360000}), q);
  ASSERT_TRUE(ok);
  EXPECT_TRUE(ok->admitted());
  EXPECT_EQ(ok->requests, (limit_status{20, 19, 100ms}));
  EXPECT_EQ(ok->tokens, (limit_status{1000, 744, 15360ms}));
  auto rate = redis_scripts::parse_admit(ints({1, 50001, 0, 2000000, 1000, 0}), q);
  ASSERT_TRUE(rate);
  EXPECT_EQ(rate->rejected, reject_reason::rate);
  EXPECT_EQ(rate->retry_after, 50001us);
  auto tokens = redis_scripts::parse_admit(ints({2, 7000000, 3, 0, 0, 60000000}), q);
  EXPECT_EQ(tokens->rejected, reject_reason::tokens);
  // A key without a token limit gets no tokens status.
  quota_limits rq_only;
  rq_only.requests_per_second = 1;
  EXPECT_FALSE(redis_scripts::parse_admit(ints({0, 0, 0, 1000000, -1, 0}), rq_only)->tokens);
}

TEST(RedisScripts, MalformedRepliesAreRejected) {
  quota_limits q;
  q.requests_per_second = 1;
  EXPECT_FALSE(redis_scripts::parse_admit(ints({0, 0, 0}), q));
  EXPECT_FALSE(redis_scripts::parse_admit(ints({3, 0, 0, 0, 0, 0}), q));
  redis_reply s;
  s.type = redis_reply::kind::string;
  EXPECT_FALSE(redis_scripts::parse_admit(s, q));
  auto mixed = ints({0, 0, 0, 0, 0, 0});
  mixed.elements[3].type = redis_reply::kind::string;
  EXPECT_FALSE(redis_scripts::parse_admit(mixed, q));
  q.tokens_per_minute = 60;
  EXPECT_EQ(redis_scripts::parse_reconcile(ints({5, 55000000}), q), (limit_status{60, 5, 55s}));
  EXPECT_FALSE(redis_scripts::parse_reconcile(ints({5}), q));
}

TEST(StoreError, NamesAndCategory) {
  boost::system::error_code ec = store_errc::timeout;
  EXPECT_EQ(store_error_name(ec), "timeout");
  EXPECT_EQ(store_error_name(store_errc::backing_off), "backing_off");
  EXPECT_EQ(store_error_name(store_errc::script), "script");
  EXPECT_EQ(store_error_name(boost::system::error_code(5, boost::system::generic_category())),
            "other");
  EXPECT_FALSE(ec.message().empty());
}

}  // namespace
}  // namespace modelgate::quota
