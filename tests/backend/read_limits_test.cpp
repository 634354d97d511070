// modelgate-backend's bounded reads (issue 14, item 1): one keyless request must neither grow the
// backend's memory without bound nor end the process. A raw client floods a chunk extension or a
// trailer section while reading what the backend answers.

#include "backend_test_util.hpp"
#include "proc_status.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <string_view>

namespace modelgate::test_support {
namespace {

std::filesystem::path classifier() { return demo_model("classifier", {"--steps", "40"}); }

struct flood_result {
  std::string response;   // everything the backend sent
  std::size_t sent = 0;   // bytes the client got to send
  bool closed = false;    // the backend closed (EOF or reset) before the client finished
};

// Sends `head`, `filler` bytes of 'a' in 64 KiB writes, then `tail`, reading whatever the backend
// answers meanwhile; stops when the backend closed the connection, 30 s passed, or all was sent
// and no answer came within 10 s.
flood_result flood(std::uint16_t port, const std::string& head, std::size_t filler,
                   const std::string& tail) {
  flood_result out;
  const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(s);
    ADD_FAILURE() << "connect: " << std::strerror(errno);
    return out;
  }
  ::fcntl(s, F_SETFL, ::fcntl(s, F_GETFL) | O_NONBLOCK);
  const std::string block(64 * 1024, 'a');
  std::size_t head_at = 0, filler_left = filler, tail_at = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  std::optional<std::chrono::steady_clock::time_point> all_sent;
  char scratch[64 * 1024];
  while (std::chrono::steady_clock::now() < deadline) {
    if (all_sent && std::chrono::steady_clock::now() - *all_sent > std::chrono::seconds(10)) break;
    const bool more = head_at < head.size() || filler_left > 0 || tail_at < tail.size();
    if (!more && !all_sent) all_sent = std::chrono::steady_clock::now();
    pollfd p{s, static_cast<short>(POLLIN | (more ? POLLOUT : 0)), 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      const auto n = ::recv(s, scratch, sizeof scratch, 0);
      if (n > 0) {
        out.response.append(scratch, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EAGAIN) {
        out.closed = true;
        break;
      }
    }
    if (p.revents & POLLOUT) {
      std::string_view next;
      if (head_at < head.size()) next = std::string_view(head).substr(head_at);
      else if (filler_left > 0) next = std::string_view(block).substr(0, std::min(block.size(), filler_left));
      else next = std::string_view(tail).substr(tail_at);
      const auto n = ::send(s, next.data(), next.size(), MSG_NOSIGNAL);
      if (n < 0 && errno != EAGAIN) {
        // Reset: read what arrived before it.
        for (ssize_t r; (r = ::recv(s, scratch, sizeof scratch, 0)) > 0;)
          out.response.append(scratch, static_cast<std::size_t>(r));
        out.closed = true;
        break;
      }
      if (n > 0) {
        const auto sent = static_cast<std::size_t>(n);
        out.sent += sent;
        if (head_at < head.size()) head_at += sent;
        else if (filler_left > 0) filler_left -= sent;
        else tail_at += sent;
      }
    }
  }
  ::close(s);
  return out;
}

const std::string chunked_head =
    "POST /v2/models/classifier/infer HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\n"
    "Transfer-Encoding: chunked\r\n\r\n";
constexpr std::size_t flood_bytes = 64 * mib;

class ReadLimits : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    backend_ = std::make_unique<backend_process>(classifier(), "classifier",
                                                 std::vector<std::string>{"--threads", "1"});
  }
  static void TearDownTestSuite() { backend_.reset(); }

  // The backend is alive and serves a normal request.
  static void expect_still_serving() {
    ASSERT_TRUE(backend_->process().running()) << "the backend exited";
    auto c = http_client::connect(backend_->port());
    c.set_timeout(std::chrono::seconds(10));
    EXPECT_EQ(c.post("/v2/models/classifier/infer", infer_body(1)).result_int(), 200u);
  }

  // A flood answered with `status`, a closed connection long before the client finished, and
  // no more than 16 MiB of peak memory for it.
  static void expect_refused(const std::string& head, const std::string& tail, const char* status) {
    const auto pid = backend_->process().pid();
    const auto peak_before = proc_status_bytes(pid, "VmHWM");
    const auto r = flood(backend_->port(), head, flood_bytes, tail);
    EXPECT_EQ(r.response.substr(0, 12), std::string("HTTP/1.1 ") + status) << r.response.substr(0, 300);
    EXPECT_NE(r.response.find("Connection: close"), std::string::npos) << r.response.substr(0, 300);
    EXPECT_TRUE(r.closed) << "the backend kept the connection open";
    EXPECT_LT(r.sent, flood_bytes / 2) << "the backend read on to the end";
    const auto peak_after = proc_status_bytes(pid, "VmHWM");
    EXPECT_LT(peak_after - peak_before, 16 * mib)
        << "peak RSS " << peak_before / mib << " -> " << peak_after / mib << " MiB";
  }

  static std::unique_ptr<backend_process> backend_;
};
std::unique_ptr<backend_process> ReadLimits::backend_;

// Issue 14: chunk header "4;" and 300 MiB of extension took the backend from 177 to 860 MB.
TEST_F(ReadLimits, AHugeChunkExtensionIsA400AndClosesEarly) {
  ASSERT_NO_FATAL_FAILURE(expect_still_serving());
  expect_refused(chunked_head + "4;", "\r\nabcd\r\n0\r\n\r\n", "400");
  expect_still_serving();
}

// Issue 14: 200 MiB of trailers made the backend exit ("field value too large").
TEST_F(ReadLimits, HugeTrailersAreA400AndTheBackendLives) {
  ASSERT_NO_FATAL_FAILURE(expect_still_serving());
  expect_refused(chunked_head + "4\r\nabcd\r\n0\r\nX-Trailer: ", "\r\n\r\n", "400");
  expect_still_serving();
}

TEST_F(ReadLimits, AnOverLongHeaderSectionIsA431) {
  expect_refused("GET /v2/health/live HTTP/1.1\r\nHost: b\r\nX-Big: ", "\r\n\r\n", "431");
  expect_still_serving();
}

}  // namespace
}  // namespace modelgate::test_support
