#include "backend/api/listen_fds.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

namespace modelgate::backend {
namespace {

// A whole decimal number, nothing around it.
std::optional<long> whole_number(const char* text) {
  if (!text) return std::nullopt;
  const std::string_view s(text);
  long v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// The address family of `fd` if it is a listening TCP socket (AF_INET or AF_INET6), else 0.
int listening_tcp_family(int fd) {
  int type = 0, listening = 0;
  socklen_t len = sizeof(int);
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) return 0;
  len = sizeof(int);
  if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) return 0;
  sockaddr_storage addr{};
  len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return 0;
  return addr.ss_family == AF_INET || addr.ss_family == AF_INET6 ? addr.ss_family : 0;
}

}  // namespace

int parse_listen_fds(const char* listen_pid, const char* listen_fds, long self) {
  const auto pid = whole_number(listen_pid);
  const auto n = whole_number(listen_fds);
  // Another pid: the variables were meant for a parent that let us inherit its environment.
  if (!pid || *pid != self || !n || *n < 1 || *n > 1024) return 0;
  return static_cast<int>(*n);
}

std::optional<passed_socket> take_listen_fds() {
  const int n = parse_listen_fds(std::getenv("LISTEN_PID"), std::getenv("LISTEN_FDS"),
                                 static_cast<long>(::getpid()));
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_FDNAMES");
  if (n == 0) return std::nullopt;
  for (int fd = listen_fds_start; fd < listen_fds_start + n; ++fd) {
    const int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  }
  const int family = listening_tcp_family(listen_fds_start);
  if (family == 0)
    throw std::runtime_error("LISTEN_FDS: descriptor " + std::to_string(listen_fds_start) +
                             " is not a listening TCP socket");
  return passed_socket{listen_fds_start, family == AF_INET6};
}

}  // namespace modelgate::backend
