#pragma once
// Starting the replica processes of a managed pool. Start-up only throws; nothing here touches
// an event loop, and reaping (waitpid) is the caller's job.

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace modelgate::proxy {

/// fork+exec argv[0] (PATH search) in workdir; the child gets PR_SET_PDEATHSIG(SIGTERM) (and exits
/// at once if the parent already died), its stdout goes to the proxy's stderr (stdout is the access
/// log), stdin from /dev/null, and all other fds closed/CLOEXEC. Exec failure is reported to the
/// parent through a CLOEXEC pipe and thrown as std::system_error naming the program. Must be
/// called from the main thread (PDEATHSIG follows the forking thread).
///
/// Also: the child leads a new process group (pgid = pid), so kill(-pid, sig) reaches whatever it
/// starts and a terminal's Ctrl-C reaches only the proxy, which stops its replicas itself; signal
/// mask and dispositions are reset to the defaults (the proxy's ignored SIGPIPE is not inherited).
/// argv[0] without '/' is searched in PATH when spawning; with '/', a relative one is relative to
/// workdir. A child that failed to exec is reaped before the throw. Throws std::invalid_argument
/// for an empty argv.
pid_t spawn_child(const std::vector<std::string>& argv, const std::filesystem::path& workdir);

/// A currently free TCP port on host (bind port 0, read, close). host is an IPv4 or IPv6 literal.
/// Another process may take the port before the replica binds it. Throws std::system_error.
std::uint16_t free_port(const std::string& host);

/// argv with every "{port}" replaced.
std::vector<std::string> expand_command(const std::vector<std::string>& argv, std::uint16_t port);

}  // namespace modelgate::proxy
