// modelgate-backend serving on a listening socket its parent passed as descriptor 3 with
// LISTEN_FDS and LISTEN_PID (issue 14, item 13), as the proxy starts managed replicas.

#include "backend_test_util.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace modelgate::test_support {
namespace {

TEST(InheritedSocket, TheBackendServesOnThePassedSocket) {
  const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(s, 16), 0);
  ASSERT_EQ(::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len), 0);
  const auto port = ntohs(a.sin_port);

  // --listen 127.0.0.1:0 (backend_process's) is not used: no second listener on another port.
  backend_process b(demo_model("textgen", {"--steps", "0"}), "textgen", {"--threads", "1"}, s);
  ::close(s);  // the backend's copy is the only one now
  EXPECT_EQ(b.port(), port) << b.log();
  EXPECT_NE(b.log().find("(socket passed by the parent: LISTEN_FDS)"), std::string::npos) << b.log();
  auto c = http_client::connect(port);
  c.set_timeout(std::chrono::seconds(10));
  EXPECT_EQ(c.get("/v2/health/ready").result_int(), 200u);
  auto r = c.post("/v1/completions", R"({"prompt":"hi","max_tokens":2})");
  EXPECT_EQ(r.result_int(), 200u) << r.body();
}

// A socket that is not listening is refused at start-up with the reason.
TEST(InheritedSocket, ASocketThatDoesNotListenStopsTheStart) {
  const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  try {
    backend_process never(demo_model("textgen", {"--steps", "0"}), "textgen", {"--threads", "1"}, s);
    ADD_FAILURE() << "started on a socket that does not listen";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("LISTEN_FDS: descriptor 3 is not a listening TCP socket"),
              std::string::npos)
        << e.what();
  }
  ::close(s);
}

}  // namespace
}  // namespace modelgate::test_support
