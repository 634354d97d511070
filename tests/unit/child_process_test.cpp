#include "proxy/manage/child_process.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

using namespace modelgate::proxy;
namespace fs = std::filesystem;

namespace {

int wait_status(pid_t pid) {
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);
  return status;
}

int exit_code(pid_t pid) {
  int status = wait_status(pid);
  EXPECT_TRUE(WIFEXITED(status)) << status;
  return WEXITSTATUS(status);
}

// Runs `sh -c script` in dir and returns its exit code.
int sh(const std::string& script, const fs::path& dir = fs::temp_directory_path()) {
  return exit_code(spawn_child({"sh", "-c", script}, dir));
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A fresh empty folder, removed at the end of the test.
struct temp_dir {
  fs::path path;
  temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "modelgate-child-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~temp_dir() { fs::remove_all(path); }
};

}  // namespace

TEST(ExpandCommand, ReplacesEveryPlaceholder) {
  EXPECT_EQ(expand_command({"serve", "--port", "{port}", "--url=http://h:{port}/{port}", "{ports}", "{por"}, 8001),
            (std::vector<std::string>{"serve", "--port", "8001", "--url=http://h:8001/8001", "{ports}", "{por"}));
  EXPECT_EQ(expand_command({}, 1), std::vector<std::string>{});
  EXPECT_EQ(expand_command({"{port}{port}"}, 65535), std::vector<std::string>{"6553565535"});
}

TEST(SpawnChild, ExitCodeReachesWaitpid) {
  EXPECT_EQ(sh("exit 3"), 3);
  EXPECT_EQ(sh("exit 0"), 0);
}

TEST(SpawnChild, MissingProgramThrowsAClearError) {
  try {
    spawn_child({"modelgate-no-such-program", "x"}, fs::temp_directory_path());
    FAIL() << "expected an error";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
    EXPECT_NE(std::string(e.what()).find("'modelgate-no-such-program'"), std::string::npos) << e.what();
  }
  // A path is not searched; exec's own failure comes back through the pipe.
  try {
    spawn_child({"/nonexistent/modelgate-serve"}, fs::temp_directory_path());
    FAIL() << "expected an error";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/modelgate-serve"), std::string::npos) << e.what();
  }
  temp_dir d;
  auto script = d.path / "not-executable.sh";
  std::ofstream(script) << "#!/bin/sh\nexit 0\n";
  try {
    spawn_child({script.string()}, d.path);
    FAIL() << "expected an error";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::permission_denied) << e.what();
  }
  EXPECT_THROW(spawn_child({}, d.path), std::invalid_argument);
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1) << "failed children are reaped";
}

TEST(SpawnChild, WorkdirIsHonoured) {
  temp_dir d;
  EXPECT_EQ(sh("pwd > out", d.path), 0);
  EXPECT_EQ(read_file(d.path / "out"), fs::canonical(d.path).string() + "\n");

  // A relative program path is relative to the workdir.
  std::ofstream(d.path / "run.sh") << "#!/bin/sh\nexit 7\n";
  fs::permissions(d.path / "run.sh", fs::perms::owner_all);
  EXPECT_EQ(exit_code(spawn_child({"./run.sh"}, d.path)), 7);

  try {
    spawn_child({"sh", "-c", "exit 0"}, d.path / "missing");
    FAIL() << "expected an error";
  } catch (const std::system_error& e) {
    EXPECT_NE(std::string(e.what()).find("working directory"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'sh'"), std::string::npos) << e.what();
  }
}

TEST(SpawnChild, StdioAndInheritedDescriptors) {
  temp_dir d;
  // stdin is /dev/null.
  EXPECT_EQ(sh("[ \"$(readlink /proc/self/fd/0)\" = /dev/null ]"), 0);
  // A descriptor the proxy opened without O_CLOEXEC is not inherited.
  int leaky = ::open((d.path / "leak").c_str(), O_WRONLY | O_CREAT, 0600);
  ASSERT_GE(leaky, 3);
  EXPECT_EQ(sh("[ ! -e /proc/self/fd/" + std::to_string(leaky) + " ]"), 0);
  ::close(leaky);

  // stdout goes to the proxy's stderr.
  int saved = ::dup(STDERR_FILENO);
  int file = ::open((d.path / "stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(file, 0);
  ::dup2(file, STDERR_FILENO);
  ::close(file);
  int code = sh("echo to-stdout; echo to-stderr >&2");
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  EXPECT_EQ(code, 0);
  EXPECT_EQ(read_file(d.path / "stderr"), "to-stdout\nto-stderr\n");
}

TEST(SpawnChild, OwnProcessGroupAndDefaultSignals) {
  // The proxy ignores SIGPIPE; its children must not.
  auto old = std::signal(SIGPIPE, SIG_IGN);
  pid_t pid = spawn_child({"sh", "-c", "kill -PIPE $$; exit 0"}, fs::temp_directory_path());
  EXPECT_EQ(::getpgid(pid), pid);
  int status = wait_status(pid);
  std::signal(SIGPIPE, old);
  ASSERT_TRUE(WIFSIGNALED(status)) << status;
  EXPECT_EQ(WTERMSIG(status), SIGPIPE);
}

TEST(SpawnChild, DiesWithItsParent) {
  // An intermediate process spawns `sleep`, reports its pid and exits; as subreaper this test
  // process inherits the sleeper, which PR_SET_PDEATHSIG must have terminated.
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t middle = ::fork();
  ASSERT_GE(middle, 0);
  if (middle == 0) {
    ::close(fds[0]);
    pid_t sleeper = spawn_child({"sleep", "30"}, "/");
    if (::write(fds[1], &sleeper, sizeof sleeper) < 0) ::_exit(2);
    ::_exit(0);
  }
  ::close(fds[1]);
  pid_t sleeper = 0;
  ASSERT_EQ(::read(fds[0], &sleeper, sizeof sleeper), static_cast<ssize_t>(sizeof sleeper));
  ::close(fds[0]);
  EXPECT_EQ(exit_code(middle), 0);
  int status = wait_status(sleeper);
  ::prctl(PR_SET_CHILD_SUBREAPER, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "sleep outlived its parent: " << status;
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
}

namespace {

// "0A" is TCP_LISTEN in /proc/net/tcp, whose local address column ends in ":PORT" in hex.
std::string listening_pattern(std::uint16_t port) {
  char hex[8];
  std::snprintf(hex, sizeof hex, "%04X", port);
  return std::string(":") + hex + " 00000000:0000 0A";
}

// bind(127.0.0.1:port) from this process: 0, or the errno.
int try_bind(std::uint16_t port) {
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int err = ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 ? 0 : errno;
  ::close(s);
  return err;
}

bool accepts_connections(std::uint16_t port) {
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(s);
  return ok;
}

}  // namespace

// The replica's port is taken, bound and listening, from the moment it is chosen: no other
// process can bind it before the replica serves.
TEST(ListeningSocket, HoldsItsPortUntilClosed) {
  auto s = listening_socket::open("127.0.0.1");
  const auto port = s.port();
  ASSERT_GT(port, 0);
  EXPECT_EQ(try_bind(port), EADDRINUSE);
  EXPECT_TRUE(accepts_connections(port));
  s.close();
  EXPECT_FALSE(accepts_connections(port));
  EXPECT_GT(listening_socket::open("::1").port(), 0);
  EXPECT_THROW(listening_socket::open("localhost"), std::system_error);
}

// listen_fds: the child has the socket as descriptor 3 and LISTEN_FDS=1, LISTEN_PID=its pid; the
// port stays held by the child once the proxy closed its copy.
TEST(SpawnChild, PassesTheListeningSocketAsDescriptor3) {
  ::setenv("LISTEN_FDNAMES", "stale", 1);
  auto s = listening_socket::open("127.0.0.1");
  const auto port = s.port();
  const std::string checks = "[ \"$LISTEN_FDS\" = 1 ] && [ \"$LISTEN_PID\" = \"$$\" ] && "
                             "[ -z \"${LISTEN_FDNAMES+x}\" ] && [ -S /proc/self/fd/3 ] && "
                             "grep -q '" + listening_pattern(port) + "' /proc/net/tcp";
  temp_dir d;
  pid_t pid = spawn_child({"sh", "-c", checks + " || exit 1; : > checked; exec sleep 30"}, d.path,
                          std::move(s), socket_handoff::listen_fds);
  ::unsetenv("LISTEN_FDNAMES");
  int status = 0;
  bool exited = false;
  for (int i = 0; i < 500 && !fs::exists(d.path / "checked") && !exited; ++i) {
    exited = ::waitpid(pid, &status, WNOHANG) == pid;
    ::usleep(10'000);
  }
  ASSERT_FALSE(exited) << "the checks failed: exit " << WEXITSTATUS(status);
  ASSERT_TRUE(fs::exists(d.path / "checked"));
  EXPECT_EQ(try_bind(port), EADDRINUSE) << "the child holds the port";
  EXPECT_TRUE(accepts_connections(port));
  ::kill(pid, SIGKILL);
  EXPECT_TRUE(WIFSIGNALED(wait_status(pid)));
}

// port_only (a program that binds its port itself): the port is free when it starts, and it
// gets no socket and no LISTEN_* variables, even ones the proxy inherited.
TEST(SpawnChild, PortOnlyFreesThePortBeforeTheProgramStarts) {
  ::setenv("LISTEN_FDS", "1", 1);
  ::setenv("LISTEN_PID", "1", 1);
  auto s = listening_socket::open("127.0.0.1");
  const auto port = s.port();
  const std::string script = "! grep -q '" + listening_pattern(port) + "' /proc/net/tcp && "
                             "[ ! -e /proc/self/fd/3 ] && [ -z \"${LISTEN_FDS+x}${LISTEN_PID+x}\" ]";
  EXPECT_EQ(exit_code(spawn_child({"sh", "-c", script}, fs::temp_directory_path(), std::move(s),
                                  socket_handoff::port_only)),
            0);
  EXPECT_EQ(sh("[ -z \"${LISTEN_FDS+x}${LISTEN_PID+x}\" ]"), 0) << "without a socket either";
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_PID");
  EXPECT_EQ(try_bind(port), 0);
}
