#pragma once
// Taking a listening socket from the parent, systemd's socket-activation protocol
// (sd_listen_fds(3)) written out by hand: LISTEN_PID is our pid, LISTEN_FDS the number of
// sockets, passed as descriptors 3, 4, ... The modelgate proxy starts managed replicas this way,
// so their port is never free for another process to take.

#include <optional>

namespace modelgate::backend {

inline constexpr int listen_fds_start = 3;

/// A listening TCP socket passed by the parent.
struct passed_socket {
  int fd = listen_fds_start;
  bool ipv6 = false;
};

/// How many sockets were passed, given the variables' values (null when unset) and our pid: 0
/// unless LISTEN_PID is exactly `self` and LISTEN_FDS a number from 1 to 1024. Pure.
int parse_listen_fds(const char* listen_pid, const char* listen_fds, long self);

/// Reads and unsets LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES (our own children must not take
/// them for theirs) and marks the passed descriptors close-on-exec. Returns descriptor 3 when at
/// least one socket was passed to this process (the others are left alone); throws
/// std::runtime_error when descriptor 3 is then not a listening TCP socket. Call before any
/// thread starts (it changes the environment) and before anything opens a file (which could
/// take descriptor 3 if it was not open).
std::optional<passed_socket> take_listen_fds();

}  // namespace modelgate::backend
