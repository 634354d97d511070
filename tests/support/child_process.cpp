#include "tests/support/child_process.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

namespace modelgate::test_support {

namespace {

// Runs in the forked child only: no allocation, no exceptions, only async-signal-safe calls.
void redirect(const char* path, int fd, int flags) {
  int f = ::open(path, flags, 0644);
  if (f < 0) _exit(126);
  ::dup2(f, fd);
  ::close(f);
}

}  // namespace

child_process::child_process(const std::vector<std::string>& argv, const child_io& io) {
  if (argv.empty()) throw std::invalid_argument("child_process: empty argv");
  // Everything the child needs is prepared before fork: after fork only async-signal-safe calls.
  std::vector<const char*> args;
  for (const auto& a : argv) args.push_back(a.c_str());
  args.push_back(nullptr);
  auto path_or_null = [](const std::filesystem::path& p) {
    return p.empty() ? std::string("/dev/null") : p.string();
  };
  const std::string in = path_or_null(io.stdin_path);
  const std::string out = path_or_null(io.stdout_path);
  const std::string err = path_or_null(io.stderr_path);
  const pid_t parent = ::getpid();
  // With a socket to pass: the environment plus LISTEN_FDS and LISTEN_PID, whose digits the
  // child writes (it does not know its pid before fork).
  const bool passing = io.listen_fd >= 0;
  std::vector<std::string> env;
  for (char** e = environ; passing && e && *e; ++e)
    if (!std::string_view(*e).starts_with("LISTEN_")) env.emplace_back(*e);
  env.emplace_back("LISTEN_FDS=1");
  env.emplace_back("LISTEN_PID=" + std::string(20, '\0'));
  char* pid_slot = env.back().data() + 11;
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_ = ::fork();
  if (pid_ < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid_ == 0) {
    // Die with the test process even if it crashes before the destructor runs.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) _exit(125);
    // A new process group, so a terminal's Ctrl-C reaches the test, which then kills us.
    ::setpgid(0, 0);
    redirect(in.c_str(), STDIN_FILENO, O_RDONLY);
    redirect(out.c_str(), STDOUT_FILENO, O_WRONLY | O_CREAT | O_TRUNC);
    redirect(err.c_str(), STDERR_FILENO, O_WRONLY | O_CREAT | O_TRUNC);
    // Inherit nothing else: a test's listening sockets (fake upstreams) must die with the test's
    // copy, or "killing" an upstream would leave its port accepting in the child.
    if (passing) {
      if (io.listen_fd == 3 ? ::fcntl(3, F_SETFD, 0) != 0 : ::dup2(io.listen_fd, 3) != 3) _exit(124);
      char digits[20];
      int n = 0;
      for (auto v = static_cast<unsigned long>(::getpid()); n == 0 || v != 0; v /= 10)
        digits[n++] = static_cast<char>('0' + v % 10);
      for (int i = 0; i < n; ++i) pid_slot[i] = digits[n - 1 - i];
      pid_slot[n] = '\0';
    }
    ::syscall(SYS_close_range, passing ? 4u : 3u, ~0u, 0u);
    if (passing)
      ::execvpe(args[0], const_cast<char* const*>(args.data()), envp.data());
    else
      ::execvp(args[0], const_cast<char* const*>(args.data()));
    _exit(127);
  }
}

child_process::child_process(child_process&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), exit_code_(other.exit_code_) {}

child_process::~child_process() { kill(); }

void child_process::signal(int sig) {
  if (pid_ > 0 && !exit_code_) ::kill(pid_, sig);
}

bool child_process::try_reap() {
  if (pid_ <= 0 || exit_code_) return true;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == 0) return false;
  if (r < 0) {
    exit_code_ = -1;
    return true;
  }
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return true;
}

std::optional<int> child_process::wait_exit(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!try_reap()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return exit_code_;
}

bool child_process::running() { return !try_reap(); }

void child_process::kill() {
  if (pid_ <= 0 || exit_code_) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  exit_code_ = 128 + SIGKILL;
}

command_result run_command(const std::vector<std::string>& argv,
                           const std::filesystem::path& work_dir,
                           const std::filesystem::path& stdin_path,
                           std::chrono::milliseconds timeout) {
  static std::atomic<int> counter{0};
  const std::string stem = "cmd-" + std::to_string(counter++);
  child_io io{stdin_path, work_dir / (stem + ".out"), work_dir / (stem + ".err")};
  child_process child(argv, io);
  auto code = child.wait_exit(timeout);
  if (!code) {
    child.kill();
    throw std::runtime_error("command timed out: " + argv.front());
  }
  return {*code, read_file(io.stdout_path), read_file(io.stderr_path)};
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace modelgate::test_support
