#include "proxy/http/ip_connections.hpp"

#include <gtest/gtest.h>

#include <vector>

using namespace modelgate::proxy;
namespace ip = boost::asio::ip;

TEST(IpConnections, EachAddressHasItsOwnLimitAndSlotsGiveBack) {
  ip_connections t;
  const auto a = ip::make_address("10.0.0.1");
  const auto b = ip::make_address("::1");
  std::vector<ip_connections::slot> held;
  for (int i = 0; i < 2; ++i) {
    auto s = t.try_add(a, 2);
    ASSERT_TRUE(s);
    held.push_back(std::move(*s));
  }
  EXPECT_FALSE(t.try_add(a, 2));
  EXPECT_EQ(t.count(a), 2u);
  auto other = t.try_add(b, 2);
  EXPECT_TRUE(other);
  EXPECT_EQ(t.count(b), 1u);
  held.pop_back();
  EXPECT_EQ(t.count(a), 1u);
  EXPECT_TRUE(t.try_add(a, 2));  // the temporary slot gives its count back at once
  EXPECT_EQ(t.count(a), 1u);
}

TEST(IpConnections, IPv4AndItsMappedIPv6FormAreOneAddress) {
  ip_connections t;
  auto s = t.try_add(ip::make_address("127.0.0.1"), 1);
  ASSERT_TRUE(s);
  EXPECT_FALSE(t.try_add(ip::make_address("::ffff:127.0.0.1"), 1));
}

TEST(IpConnections, NoLimitCountsNothing) {
  ip_connections t;
  const auto a = ip::make_address("10.0.0.1");
  auto s = t.try_add(a, 0);
  ASSERT_TRUE(s);
  EXPECT_EQ(t.count(a), 0u);
}
