#include "proxy/cache/cache_control.hpp"

#include <gtest/gtest.h>

namespace modelgate::cache {
namespace {

using std::chrono::seconds;

TEST(CacheControl, EmptyHasNoDirectives) {
  auto cc = parse_cache_control("");
  EXPECT_FALSE(cc.no_store);
  EXPECT_FALSE(cc.no_cache);
  EXPECT_FALSE(cc.private_);
  EXPECT_FALSE(cc.max_age);
}

TEST(CacheControl, ParsesDirectivesCaseInsensitively) {
  auto cc = parse_cache_control("No-Store, PRIVATE ,max-age=60, s-maxage=\"30\", public");
  EXPECT_TRUE(cc.no_store);
  EXPECT_TRUE(cc.private_);
  EXPECT_TRUE(cc.public_);
  EXPECT_FALSE(cc.no_cache);
  EXPECT_EQ(cc.max_age, seconds(60));
  EXPECT_EQ(cc.s_maxage, seconds(30));
}

TEST(CacheControl, QuotedArgumentMayHoldCommas) {
  auto cc = parse_cache_control("no-cache=\"set-cookie, private, x-foo\", max-age=5");
  EXPECT_TRUE(cc.no_cache);
  EXPECT_FALSE(cc.private_);  // a field name inside the quotes, not a directive
  EXPECT_EQ(cc.max_age, seconds(5));
}

TEST(CacheControl, InvalidMaxAgeIsZero) {
  EXPECT_EQ(parse_cache_control("max-age=abc").max_age, seconds(0));
  EXPECT_EQ(parse_cache_control("max-age=").max_age, seconds(0));
  EXPECT_EQ(parse_cache_control("max-age=-5").max_age, seconds(0));
}

TEST(CacheControl, HugeMaxAgeSaturates) {
  EXPECT_EQ(parse_cache_control("max-age=99999999999999999999999").max_age, seconds(2147483648LL));
}

TEST(CacheControl, SeveralMaxAgeTakesTheSmallest) {
  EXPECT_EQ(parse_cache_control("max-age=10, max-age=100").max_age, seconds(10));
  EXPECT_EQ(parse_cache_control("max-age=100, max-age=10").max_age, seconds(10));
}

TEST(CacheControl, UnknownDirectivesAndEmptyItemsIgnored) {
  auto cc = parse_cache_control(",, must-revalidate, stale-while-revalidate=30 ,");
  EXPECT_FALSE(cc.no_store);
  EXPECT_FALSE(cc.max_age);
}

}  // namespace
}  // namespace modelgate::cache
