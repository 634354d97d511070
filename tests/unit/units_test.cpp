#include "config/units.hpp"

#include <gtest/gtest.h>

using namespace modelgate::config;
using std::chrono::milliseconds;

TEST(Durations, AcceptSuffixes) {
  EXPECT_EQ(parse_duration("250ms"), milliseconds(250));
  EXPECT_EQ(parse_duration("10s"), milliseconds(10'000));
  EXPECT_EQ(parse_duration("1.5s"), milliseconds(1'500));
  EXPECT_EQ(parse_duration("5m"), milliseconds(300'000));
  EXPECT_EQ(parse_duration("2h"), milliseconds(7'200'000));
  EXPECT_EQ(parse_duration("3"), milliseconds(3'000));  // bare number: seconds
  EXPECT_EQ(parse_duration(" 7 s "), milliseconds(7'000));
}

TEST(Durations, RejectMalformed) {
  for (auto bad : {"", "s", "10x", "ten seconds", "-1s", "10 sec", "1e400s", "10ss"})
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
}

TEST(Sizes, AcceptUnits) {
  EXPECT_EQ(parse_size("16384"), 16384u);
  EXPECT_EQ(parse_size("64KiB"), 65536u);
  EXPECT_EQ(parse_size("8MiB"), 8u * 1024 * 1024);
  EXPECT_EQ(parse_size("1GiB"), 1024u * 1024 * 1024);
  EXPECT_EQ(parse_size("2MB"), 2'000'000u);
  EXPECT_EQ(parse_size("1.5KiB"), 1536u);
}

TEST(Sizes, RejectMalformed) {
  for (auto bad : {"", "KiB", "12 bytes", "-5", "5kib", "1TiB"})
    EXPECT_FALSE(parse_size(bad).has_value()) << bad;
}
