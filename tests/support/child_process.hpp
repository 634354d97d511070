#pragma once
// Child processes for integration tests: spawn with output to files, wait with a timeout,
// kill on destruction so a failing test never leaves an orphan behind.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace modelgate::test_support {

/// Where a child's standard streams go; an empty path means /dev/null.
struct child_io {
  std::filesystem::path stdin_path;
  std::filesystem::path stdout_path;
  std::filesystem::path stderr_path;
  /// A listening socket (>= 3) the child gets as descriptor 3 with LISTEN_FDS=1 and
  /// LISTEN_PID=<its pid>, as a managing parent passes it (sd_listen_fds(3)); -1: none.
  int listen_fd = -1;
};

/// A running child process (fork/exec). Move-only; the destructor SIGKILLs and reaps a child
/// that is still running. Not thread-safe: use from one thread.
class child_process {
 public:
  /// Starts argv[0] (looked up in PATH when it has no slash). Throws std::system_error if
  /// fork fails; an exec failure shows as exit code 127.
  child_process(const std::vector<std::string>& argv, const child_io& io);
  child_process(child_process&& other) noexcept;
  child_process& operator=(child_process&&) = delete;
  child_process(const child_process&) = delete;
  ~child_process();

  pid_t pid() const { return pid_; }

  /// Sends a signal; does nothing once the child has been reaped.
  void signal(int sig);

  /// Polls for exit up to `timeout`. Returns the exit code, or 128 + signal number when the
  /// child was killed by a signal; std::nullopt when it is still running.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);

  /// True while the child has not exited.
  bool running();

  /// SIGKILL and reap (no-op when already reaped).
  void kill();

 private:
  bool try_reap();

  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

/// What a finished command printed and returned.
struct command_result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

/// Runs argv to completion, capturing its outputs through files in `work_dir` and feeding
/// `stdin_path` when given. Kills the command and throws std::runtime_error past `timeout`.
command_result run_command(const std::vector<std::string>& argv,
                           const std::filesystem::path& work_dir,
                           const std::filesystem::path& stdin_path = {},
                           std::chrono::milliseconds timeout = std::chrono::seconds(20));

/// Reads a whole file; an absent file reads as "".
std::string read_file(const std::filesystem::path& path);

}  // namespace modelgate::test_support
