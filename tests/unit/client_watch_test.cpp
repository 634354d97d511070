// The client watch list on real loopback TCP connections: which peer closes count as gone in
// each mode, that the sweep runs by itself while something is watched, and that a registration
// leaves the list when it ends.

#include "proxy/http/client_watch.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include <thread>

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using modelgate::proxy::client_watchlist;
using namespace std::chrono_literals;

// A connected pair on 127.0.0.1: `server` is the proxy's side, `client` the peer.
struct connection {
  explicit connection(asio::io_context& io) : server(io), client(io) {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    client.connect(acceptor.local_endpoint());
    acceptor.accept(server);
  }
  int fd() { return server.native_handle(); }
  // Lets the loopback deliver the FIN or RST before the sweep looks.
  static void settle() { std::this_thread::sleep_for(20ms); }
  tcp::socket server;
  tcp::socket client;
};

// A watch list with its default period, on an io_context of its own.
class ClientWatch : public ::testing::Test {
 protected:
  asio::io_context io;
  client_watchlist list{io.get_executor()};
};

TEST_F(ClientWatch, AnOpenQuietClientIsNotGone) {
  connection c(io);
  int calls = 0;
  auto reg = list.watch(c.fd(), true, [&] { ++calls; });
  EXPECT_EQ(list.sweep(), 0u);
  EXPECT_FALSE(reg.gone());
  EXPECT_EQ(calls, 0);
}

TEST_F(ClientWatch, AHalfCloseIsGoneOnlyWhenHalfClosesAbort) {
  connection aborting(io), finishing(io);
  int calls = 0;
  auto a = list.watch(aborting.fd(), true, [&] { ++calls; });
  auto f = list.watch(finishing.fd(), false, [&] { ++calls; });
  aborting.client.shutdown(tcp::socket::shutdown_send);
  finishing.client.shutdown(tcp::socket::shutdown_send);
  connection::settle();
  EXPECT_EQ(list.sweep(), 1u);
  EXPECT_TRUE(a.gone());
  EXPECT_FALSE(f.gone());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(list.sweep(), 0u) << "a gone client is reported once";
  EXPECT_EQ(calls, 1);
}

TEST_F(ClientWatch, AResetIsGoneInEitherMode) {
  connection c(io);
  int calls = 0;
  auto reg = list.watch(c.fd(), false, [&] { ++calls; });
  c.client.set_option(asio::socket_base::linger(true, 0));  // close() sends RST
  c.client.close();
  connection::settle();
  EXPECT_EQ(list.sweep(), 1u);
  EXPECT_TRUE(reg.gone());
  EXPECT_EQ(calls, 1);
}

// Bytes from the client (a pipelined request) are not a close, and stay unread for the session.
TEST_F(ClientWatch, PipelinedBytesAreNotAClose) {
  connection c(io);
  auto reg = list.watch(c.fd(), true, nullptr);
  asio::write(c.client, asio::buffer(std::string_view("GET / HTTP/1.1\r\n\r\n")));
  connection::settle();
  EXPECT_EQ(list.sweep(), 0u);
  EXPECT_FALSE(reg.gone());
  EXPECT_EQ(c.server.available(), 18u);
}

TEST_F(ClientWatch, RegistrationsLeaveTheListWhenTheyEnd) {
  connection c(io);
  {
    auto a = list.watch(c.fd(), true, nullptr);
    auto b = list.watch(c.fd(), true, nullptr);
    EXPECT_EQ(list.size(), 2u);
    b.reset();
    EXPECT_EQ(list.size(), 1u);
    auto moved = std::move(a);
    EXPECT_EQ(list.size(), 1u);
  }
  EXPECT_EQ(list.size(), 0u);
}

// The timer sweeps by itself while a socket is watched, and stops once nothing is.
TEST(ClientWatchTimer, TheSweepRunsOnItsOwnWhileSomethingIsWatched) {
  asio::io_context io;
  client_watchlist list(io.get_executor(), 10ms);
  connection c(io);
  bool gone = false;
  auto reg = list.watch(c.fd(), true, [&] { gone = true; });
  c.client.shutdown(tcp::socket::shutdown_send);
  io.run_for(200ms);
  EXPECT_TRUE(gone);
  reg.reset();
  // Nothing watched: the timer is not re-armed, so run() returns at once.
  const auto start = std::chrono::steady_clock::now();
  io.restart();
  io.run_for(1s);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 500ms);
}

}  // namespace

namespace {

// At exit a worker's io_context destroys suspended exchanges after the worker's watch list is
// gone: their registrations must still end cleanly (ASan and TSan check this one).
TEST(ClientWatchLifetime, ARegistrationMayOutliveItsList) {
  asio::io_context io;
  connection c(io);
  client_watchlist::registration reg;
  {
    client_watchlist list(io.get_executor());
    reg = list.watch(c.fd(), true, nullptr);
    EXPECT_EQ(list.size(), 1u);
  }
  EXPECT_FALSE(reg.gone());
  reg.reset();
}

}  // namespace
