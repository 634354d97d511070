#include "proxy/manage/child_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

#include <cerrno>
#include <string_view>
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
  int release() noexcept { return std::exchange(fd_, -1); }
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

// Moves `fd` to a number >= `lowest` (still CLOEXEC), so that setting up the child's 0, 1, 2 (and
// 3, a passed socket) cannot clobber it. Only matters when the proxy runs with some closed.
unique_fd at_least(unique_fd fd, int lowest, const std::string& program) {
  if (fd.get() >= lowest) return fd;
  unique_fd moved(::fcntl(fd.get(), F_DUPFD_CLOEXEC, lowest));
  if (moved.get() < 0) throw errno_error(errno, program, "fcntl(F_DUPFD_CLOEXEC)");
  return moved;
}

// The environment a replica inherits, without the socket-activation variables (they are for
// this process, or set anew for the child). "LISTEN_PID=" gets its digits in the child.
struct child_env {
  std::vector<std::string> kept;
  std::string listen_fds = "LISTEN_FDS=1";
  std::string listen_pid = std::string("LISTEN_PID=") + std::string(20, '\0');
  std::vector<char*> envp;

  explicit child_env(bool pass_socket) {
    for (char** e = environ; e && *e; ++e) {
      const std::string_view v(*e);
      if (v.starts_with("LISTEN_PID=") || v.starts_with("LISTEN_FDS=") || v.starts_with("LISTEN_FDNAMES="))
        continue;
      kept.emplace_back(v);
    }
    for (auto& k : kept) envp.push_back(k.data());
    if (pass_socket) {
      envp.push_back(listen_fds.data());
      envp.push_back(listen_pid.data());
    }
    envp.push_back(nullptr);
  }
};

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
enum : int { step_pdeathsig = 1, step_chdir = 2, step_exec = 3, step_socket = 4 };

// In the child between fork and exec: async-signal-safe calls only (the proxy has threads).
[[noreturn]] void child_fail(int report_fd, int step) {
  exec_report r{step, errno};
  if (::write(report_fd, &r, sizeof r) < 0) {
  }
  ::_exit(127);
}

// Writes `pid` in decimal at `out` (room for 20 digits): async-signal-safe.
void write_pid(char* out, pid_t pid) {
  char digits[20];
  int n = 0;
  auto v = static_cast<unsigned long>(pid);
  do digits[n++] = static_cast<char>('0' + v % 10);
  while ((v /= 10) != 0);
  for (int i = 0; i < n; ++i) out[i] = digits[n - 1 - i];
  out[n] = '\0';
}

struct child_setup {
  pid_t parent;
  int report_fd;   // >= 4
  int devnull;     // >= 4
  int socket_fd;   // -1, or the socket to pass as fd 3 (>= 3)
  char* pid_slot;  // where LISTEN_PID's digits go, when passing
  const char* dir;
  const char* path;
  char* const* argv;
  char* const* envp;
};

[[noreturn]] void run_child(const child_setup& c) {
  if (::prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) child_fail(c.report_fd, step_pdeathsig);
  if (::getppid() != c.parent) ::_exit(128 + SIGTERM);  // the proxy died before prctl
  ::setpgid(0, 0);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);  // EINVAL for KILL/STOP

  ::dup2(c.devnull, STDIN_FILENO);
  ::dup2(STDERR_FILENO, STDOUT_FILENO);
  const bool passing = c.socket_fd >= 0;
  if (passing) {
    // dup2 leaves the copy without FD_CLOEXEC; a socket already at 3 needs it cleared.
    const bool ok = c.socket_fd == 3 ? ::fcntl(3, F_SETFD, 0) == 0 : ::dup2(c.socket_fd, 3) == 3;
    if (!ok) child_fail(c.report_fd, step_socket);
    write_pid(c.pid_slot, ::getpid());
  }
  // Everything else goes; report_fd is CLOEXEC and closes on a successful exec.
  const auto first = passing ? 4u : 3u;
  const auto keep = static_cast<unsigned>(c.report_fd);
  bool closed = keep == first || ::close_range(first, keep - 1, 0) == 0;
  closed = closed && ::close_range(keep + 1, ~0U, 0) == 0;
  if (!closed) {  // no close_range (Linux < 5.9): one by one
    rlimit lim{};
    rlim_t top = ::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < (1u << 20) ? lim.rlim_cur : (1u << 20);
    for (rlim_t fd = first; fd < top; ++fd)
      if (fd != keep) ::close(static_cast<int>(fd));
  }

  if (::chdir(c.dir) != 0) child_fail(c.report_fd, step_chdir);
  ::execve(c.path, c.argv, c.envp);
  child_fail(c.report_fd, step_exec);
}

pid_t spawn(const std::vector<std::string>& argv, const std::filesystem::path& workdir,
            listening_socket* socket, socket_handoff how) {
  if (argv.empty() || argv[0].empty()) throw std::invalid_argument("spawn_child: empty command");
  const auto& program = argv[0];
  // Everything the child needs is made before fork: the child must not allocate.
  const std::string path = find_program(program, workdir);
  const std::string dir = workdir.string();
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const bool passing = socket && how == socket_handoff::listen_fds;
  child_env env(passing);

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw errno_error(errno, program, "pipe");
  unique_fd pipe_r(fds[0]), pipe_w(fds[1]);
  unique_fd report_r = at_least(std::move(pipe_r), 4, program);
  unique_fd report_w = at_least(std::move(pipe_w), 4, program);
  unique_fd null_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (null_fd.get() < 0) throw errno_error(errno, program, "open /dev/null");
  unique_fd devnull = at_least(std::move(null_fd), 4, program);
  unique_fd passed;
  if (passing) {
    unique_fd copy(::fcntl(socket->fd(), F_DUPFD_CLOEXEC, 3));
    if (copy.get() < 0) throw errno_error(errno, program, "fcntl(F_DUPFD_CLOEXEC) of the listening socket");
    passed = std::move(copy);
  }

  const child_setup setup{::getpid(),
                          report_w.get(),
                          devnull.get(),
                          passing ? passed.get() : -1,
                          env.listen_pid.data() + std::string_view("LISTEN_PID=").size(),
                          dir.c_str(),
                          path.c_str(),
                          args.data(),
                          env.envp.data()};
  const pid_t pid = ::fork();
  if (pid < 0) throw errno_error(errno, program, "fork");
  if (pid == 0) run_child(setup);
  // port_only: the child closed its copy before exec; with ours closed too, the port is free
  // when the program starts.
  if (socket) socket->close();
  passed.reset();

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
  else if (r.step == step_socket) what = "pass the listening socket as descriptor 3";
  else what = "exec " + path;
  throw errno_error(r.err, program, what.c_str());
}

}  // namespace

pid_t spawn_child(const std::vector<std::string>& argv, const std::filesystem::path& workdir) {
  return spawn(argv, workdir, nullptr, socket_handoff::port_only);
}

pid_t spawn_child(const std::vector<std::string>& argv, const std::filesystem::path& workdir,
                  listening_socket socket, socket_handoff how) {
  return spawn(argv, workdir, &socket, how);
}

listening_socket listening_socket::open(const std::string& host) {
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
    throw std::system_error(EINVAL, std::generic_category(),
                            "listening socket: not an IP address: '" + host + "'");
  }
  unique_fd s(::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (s.get() < 0) throw std::system_error(errno, std::generic_category(), "listening socket: socket");
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0)
    throw std::system_error(errno, std::generic_category(), "listening socket: bind " + host);
  if (::listen(s.get(), SOMAXCONN) != 0)
    throw std::system_error(errno, std::generic_category(), "listening socket: listen on " + host);
  if (::getsockname(s.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::system_error(errno, std::generic_category(), "listening socket: getsockname");
  const auto port = ntohs(addr.ss_family == AF_INET ? v4->sin_port : v6->sin6_port);
  return listening_socket(s.release(), port);
}

listening_socket::listening_socket(listening_socket&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)), port_(o.port_) {}

listening_socket& listening_socket::operator=(listening_socket&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = std::exchange(o.fd_, -1);
    port_ = o.port_;
  }
  return *this;
}

listening_socket::~listening_socket() { close(); }

void listening_socket::close() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
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
