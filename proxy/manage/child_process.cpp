#include "proxy/manage/child_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace modelgate::proxy {
namespace {

class unique_fd {
 public:
  explicit unique_fd(int fd = -1) noexcept : fd_(fd) {}
  unique_fd(unique_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  ~unique_fd() { reset(); }
  int get() const noexcept { return fd_; }
  void reset() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

std::system_error errno_error(int err, const std::string& program, const char* what) {
  std::string msg = "cannot start '";
  msg += program;
  msg += "': ";
  msg += what;
  return std::system_error(err, std::generic_category(), msg);
}

// Moves `fd` to a number >= 3 (still CLOEXEC), so that setting up the child's 0, 1 and 2 cannot
// clobber it. Only matters when the proxy runs with one of those closed.
unique_fd above_stdio(unique_fd fd, const std::string& program) {
  if (fd.get() > 2) return fd;
  unique_fd moved(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 3));
  if (moved.get() < 0) throw errno_error(errno, program, "fcntl(F_DUPFD_CLOEXEC)");
  return moved;
}

// execvp's search, done before fork (execvp itself is not async-signal-safe).
std::string find_program(const std::string& program, const std::filesystem::path& workdir) {
  if (program.find('/') != std::string::npos) return program;
  const char* env = std::getenv("PATH");
  std::string path = env && *env ? env : "/usr/local/bin:/usr/bin:/bin";
  std::size_t begin = 0;
  for (;;) {
    auto end = path.find(':', begin);
    std::filesystem::path dir = path.substr(begin, end == std::string::npos ? end : end - begin);
    if (dir.empty()) dir = ".";
    if (dir.is_relative()) dir = workdir / dir;
    auto candidate = dir / program;
    std::error_code ec;
    if (std::filesystem::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0)
      return candidate.string();
    if (end == std::string::npos) break;
    begin = end + 1;
  }
  throw errno_error(ENOENT, program, "not found in PATH");
}

// What the child tells the parent when it cannot exec: the step and its errno.
struct exec_report {
  int step;
  int err;
};
enum : int { step_pdeathsig = 1, step_chdir = 2, step_exec = 3 };

// In the child between fork and exec: async-signal-safe calls only (the proxy has threads).
[[noreturn]] void child_fail(int report_fd, int step) {
  exec_report r{step, errno};
  if (::write(report_fd, &r, sizeof r) < 0) {
  }
  ::_exit(127);
}

[[noreturn]] void run_child(pid_t parent, int report_fd, int devnull, const char* dir, const char* path,
                            char* const* argv) {
  if (::prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) child_fail(report_fd, step_pdeathsig);
  if (::getppid() != parent) ::_exit(128 + SIGTERM);  // the proxy died before prctl
  ::setpgid(0, 0);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);  // EINVAL for KILL/STOP

  ::dup2(devnull, STDIN_FILENO);
  ::dup2(STDERR_FILENO, STDOUT_FILENO);
  // Everything else goes; report_fd is CLOEXEC and closes on a successful exec.
  const auto keep = static_cast<unsigned>(report_fd);
  bool closed = keep == 3 || ::close_range(3, keep - 1, 0) == 0;
  closed = closed && ::close_range(keep + 1, ~0U, 0) == 0;
  if (!closed) {  // no close_range (Linux < 5.9): one by one
    rlimit lim{};
    rlim_t top = ::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < (1u << 20) ? lim.rlim_cur : (1u << 20);
    for (rlim_t fd = 3; fd < top; ++fd)
      if (fd != keep) ::close(static_cast<int>(fd));
  }

  if (::chdir(dir) != 0) child_fail(report_fd, step_chdir);
  ::execv(path, argv);
  child_fail(report_fd, step_exec);
}

}  // namespace

pid_t spawn_child(const std::vector<std::string>& argv, const std::filesystem::path& workdir) {
  if (argv.empty() || argv[0].empty()) throw std::invalid_argument("spawn_child: empty command");
  const auto& program = argv[0];
  // Everything the child needs is made before fork: the child must not allocate.
  const std::string path = find_program(program, workdir);
  const std::string dir = workdir.string();
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw errno_error(errno, program, "pipe");
  unique_fd pipe_r(fds[0]), pipe_w(fds[1]);
  unique_fd report_r = above_stdio(std::move(pipe_r), program);
  unique_fd report_w = above_stdio(std::move(pipe_w), program);
  unique_fd null_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (null_fd.get() < 0) throw errno_error(errno, program, "open /dev/null");
  unique_fd devnull = above_stdio(std::move(null_fd), program);

  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw errno_error(errno, program, "fork");
  if (pid == 0) run_child(parent, report_w.get(), devnull.get(), dir.c_str(), path.c_str(), args.data());

  report_w.reset();
  exec_report r{};
  ssize_t n;
  do n = ::read(report_r.get(), &r, sizeof r);
  while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof r)) return pid;  // EOF: exec closed the pipe

  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::string what;
  if (r.step == step_chdir) what = "cannot enter working directory " + dir;
  else if (r.step == step_pdeathsig) what = "prctl(PR_SET_PDEATHSIG)";
  else what = "exec " + path;
  throw errno_error(r.err, program, what.c_str());
}

std::uint16_t free_port(const std::string& host) {
  sockaddr_storage addr{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    len = sizeof *v4;
  } else if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    len = sizeof *v6;
  } else {
    throw std::system_error(EINVAL, std::generic_category(), "free_port: not an IP address: '" + host + "'");
  }
  unique_fd s(::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (s.get() < 0) throw std::system_error(errno, std::generic_category(), "free_port: socket");
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0)
    throw std::system_error(errno, std::generic_category(), "free_port: bind " + host);
  if (::getsockname(s.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::system_error(errno, std::generic_category(), "free_port: getsockname");
  return ntohs(addr.ss_family == AF_INET ? v4->sin_port : v6->sin6_port);
}

std::vector<std::string> expand_command(const std::vector<std::string>& argv, std::uint16_t port) {
  static constexpr std::string_view placeholder = "{port}";
  const std::string value = std::to_string(port);
  std::vector<std::string> out;
  out.reserve(argv.size());
  for (auto arg : argv) {
    for (auto at = arg.find(placeholder); at != std::string::npos; at = arg.find(placeholder, at + value.size()))
      arg.replace(at, placeholder.size(), value);
    out.push_back(std::move(arg));
  }
  return out;
}

}  // namespace modelgate::proxy
