// Unit tests for reading systemd's socket-activation variables (backend/api/listen_fds.hpp).

#include "backend/api/listen_fds.hpp"

#include <gtest/gtest.h>

namespace mb = modelgate::backend;

TEST(ListenFds, CountsSocketsOnlyWhenTheyAreForThisProcess) {
  EXPECT_EQ(mb::parse_listen_fds("4242", "1", 4242), 1);
  EXPECT_EQ(mb::parse_listen_fds("4242", "3", 4242), 3);
  EXPECT_EQ(mb::parse_listen_fds("4241", "1", 4242), 0) << "meant for the parent";
  EXPECT_EQ(mb::parse_listen_fds(nullptr, "1", 4242), 0);
  EXPECT_EQ(mb::parse_listen_fds("4242", nullptr, 4242), 0);
  EXPECT_EQ(mb::parse_listen_fds(nullptr, nullptr, 4242), 0);
}

TEST(ListenFds, MalformedValuesMeanNoSocket) {
  for (const char* n : {"0", "-1", "", "1x", " 1", "one", "99999999999999999999"})
    EXPECT_EQ(mb::parse_listen_fds("7", n, 7), 0) << "LISTEN_FDS='" << n << "'";
  for (const char* pid : {"", "7 ", "+7", "0x7"})
    EXPECT_EQ(mb::parse_listen_fds(pid, "1", 7), 0) << "LISTEN_PID='" << pid << "'";
}
