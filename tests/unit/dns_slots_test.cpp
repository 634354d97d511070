// DNS-named backends: which addresses count and which slot each one takes.

#include "proxy/health/dns_slots.hpp"

#include <gtest/gtest.h>

using modelgate::proxy::assign_slots;
using modelgate::proxy::preferred_addresses;
using list = std::vector<std::string>;

TEST(DnsSlots, PrefersIpv4SortedAndUnique) {
  EXPECT_EQ(preferred_addresses({"::1", "127.0.0.1"}), list{"127.0.0.1"});
  EXPECT_EQ(preferred_addresses({"10.0.0.9", "10.0.0.2", "10.0.0.9"}), (list{"10.0.0.2", "10.0.0.9"}));
  EXPECT_EQ(preferred_addresses({"fd00::2", "fd00::1"}), (list{"fd00::1", "fd00::2"}));
  EXPECT_EQ(preferred_addresses({}), list{});
}

TEST(DnsSlots, FirstResolutionFillsSlotsInOrder) {
  EXPECT_EQ(assign_slots(list(4), {"10.0.0.1", "10.0.0.2"}), (list{"10.0.0.1", "10.0.0.2", "", ""}));
}

TEST(DnsSlots, AddressesThatStayKeepTheirSlots) {
  const list before{"10.0.0.1", "10.0.0.2", "10.0.0.3", ""};
  // .2 went away, .4 arrived: .1 and .3 stay put, .4 takes the first free slot (.2's old one).
  EXPECT_EQ(assign_slots(before, {"10.0.0.1", "10.0.0.3", "10.0.0.4"}),
            (list{"10.0.0.1", "10.0.0.4", "10.0.0.3", ""}));
}

TEST(DnsSlots, EmptyAnswerEmptiesEverySlot) {
  EXPECT_EQ(assign_slots({"10.0.0.1", "10.0.0.2"}, {}), (list{"", ""}));
}

TEST(DnsSlots, MoreAddressesThanSlotsKeepsTheSeatedOnesAndFillsTheRest) {
  EXPECT_EQ(assign_slots({"", "10.0.0.9"}, {"10.0.0.1", "10.0.0.2", "10.0.0.9"}),
            (list{"10.0.0.1", "10.0.0.9"}));
}

TEST(DnsSlots, SameAnswerChangesNothing) {
  const list before{"10.0.0.3", "", "10.0.0.1"};
  EXPECT_EQ(assign_slots(before, {"10.0.0.1", "10.0.0.3"}), before);
}
