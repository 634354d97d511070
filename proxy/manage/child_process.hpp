#pragma once
// Starting the replica processes of a managed pool. Start-up only throws; nothing here touches
// an event loop, and reaping (waitpid) is the caller's job.

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace modelgate::proxy {

/// A TCP socket bound to a free port of `host` and listening (close-on-exec). It is made before
/// the replica starts and handed to it, so the port is never free for another local process to
/// take (and receive requests carrying forwarded API keys). Move-only; closes on destruction.
class listening_socket {
 public:
  /// host is an IPv4 or IPv6 literal. Throws std::system_error.
  static listening_socket open(const std::string& host);

  listening_socket(listening_socket&& o) noexcept;
  listening_socket& operator=(listening_socket&& o) noexcept;
  listening_socket(const listening_socket&) = delete;
  listening_socket& operator=(const listening_socket&) = delete;
  ~listening_socket();

  int fd() const noexcept { return fd_; }
  std::uint16_t port() const noexcept { return port_; }
  void close() noexcept;

 private:
  listening_socket(int fd, std::uint16_t port) noexcept : fd_(fd), port_(port) {}
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

/// How a replica gets its listening socket.
enum class socket_handoff {
  /// As descriptor 3 with LISTEN_FDS=1 and LISTEN_PID=<its pid> (systemd's socket activation,
  /// sd_listen_fds(3)); modelgate-backend takes it. No race.
  listen_fds,
  /// Not at all: the proxy closes the socket right after fork, so the port is free when the
  /// program starts and binds the `{port}` of its arguments. Another process may take it in
  /// that window; for programs that cannot take LISTEN_FDS.
  port_only,
};

/// fork+exec argv[0] (PATH search) in workdir; the child gets PR_SET_PDEATHSIG(SIGTERM) (and exits
/// at once if the parent already died), its stdout goes to the proxy's stderr (stdout is the access
/// log), stdin from /dev/null, and all other fds closed/CLOEXEC. Exec failure is reported to the
/// parent through a CLOEXEC pipe and thrown as std::system_error naming the program. Must be
/// called from the main thread (PDEATHSIG follows the forking thread).
///
/// Also: the child leads a new process group (pgid = pid), so kill(-pid, sig) reaches whatever it
/// starts and a terminal's Ctrl-C reaches only the proxy, which stops its replicas itself; signal
/// mask and dispositions are reset to the defaults (the proxy's ignored SIGPIPE is not inherited).
/// LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES are removed from the environment it inherits.
/// argv[0] without '/' is searched in PATH when spawning; with '/', a relative one is relative to
/// workdir. A child that failed to exec is reaped before the throw. Throws std::invalid_argument
/// for an empty argv.
pid_t spawn_child(const std::vector<std::string>& argv, const std::filesystem::path& workdir);

/// The same, and hands `socket` over as `how` says; the proxy's copy is closed when this returns.
pid_t spawn_child(const std::vector<std::string>& argv, const std::filesystem::path& workdir,
                  listening_socket socket, socket_handoff how);

/// argv with every "{port}" replaced.
std::vector<std::string> expand_command(const std::vector<std::string>& argv, std::uint16_t port);

}  // namespace modelgate::proxy
