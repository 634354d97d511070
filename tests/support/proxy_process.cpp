#include "tests/support/proxy_process.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <regex>
#include <stdexcept>
#include <string_view>
#include <thread>

#include "tests/support/http_client.hpp"

namespace modelgate::test_support {

namespace {

child_process spawn(const std::filesystem::path& binary, const temp_dir& dir, std::string_view yaml,
                    const proxy_start_options& opts) {
  auto config = dir.write(opts.config_name, yaml);
  // A proxy started earlier in the same folder left its logs: remove them here, or the wait
  // below could read its ports before the child truncates the files.
  std::filesystem::remove(dir.file("proxy.out"));
  std::filesystem::remove(dir.file("proxy.err"));
  std::vector<std::string> argv = opts.launcher;
  for (const auto& word : {binary.string(), std::string("--config"), config.string()})
    argv.push_back(word);
  return child_process(argv, {{}, dir.file("proxy.out"), dir.file("proxy.err")});
}

std::string tail(const std::string& text, std::size_t max_lines) {
  std::size_t start = text.size();
  for (std::size_t n = 0; n <= max_lines; ++n) {
    if (start == 0) return text;
    start = text.rfind('\n', start - 1);
    if (start == std::string::npos) return text;
  }
  return text.substr(start + 1);
}

}  // namespace

proxy_process::proxy_process(const std::filesystem::path& binary, const temp_dir& dir,
                             std::string_view yaml, proxy_start_options opts)
    : out_path_(dir.file("proxy.out")),
      err_path_(dir.file("proxy.err")),
      child_(spawn(binary, dir, yaml, opts)) {
  wait_ready(opts);
}

proxy_process::~proxy_process() {
  child_.kill();
  if (::testing::UnitTest::GetInstance()->current_test_info() != nullptr &&
      ::testing::Test::HasFailure())
    std::cerr << describe();
}

std::string proxy_process::stdout_log() const { return read_file(out_path_); }
std::string proxy_process::stderr_log() const { return read_file(err_path_); }

namespace {
// A "Name: N kB" line of /proc/PID/status, in bytes.
std::size_t status_kib(pid_t pid, std::string_view name) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.starts_with(name) && line.size() > name.size() && line[name.size()] == ':')
      return std::stoull(line.substr(name.size() + 1)) * 1024;
  return 0;
}
}  // namespace

std::size_t proxy_process::rss_bytes() const { return status_kib(child_.pid(), "VmRSS"); }
std::size_t proxy_process::peak_rss_bytes() const { return status_kib(child_.pid(), "VmHWM"); }

std::string proxy_process::describe() const {
  return "---- modelgate stderr (tail) ----\n" + tail(stderr_log(), 40) +
         "---- modelgate stdout (tail) ----\n" + tail(stdout_log(), 40) + "----\n";
}

std::string proxy_process::admin_get(std::string_view target) const {
  auto c = http_client::connect(admin_port_);
  auto res = c.get(target);
  if (res.result() != http::status::ok)
    throw std::runtime_error("admin GET " + std::string(target) + " → " +
                             std::to_string(res.result_int()));
  return res.body();
}

void proxy_process::wait_ready(const proxy_start_options& opts) {
  const auto deadline = std::chrono::steady_clock::now() + opts.timeout;
  auto fail = [&](const std::string& why) {
    child_.kill();
    throw std::runtime_error("modelgate did not start: " + why + "\n" + describe());
  };
  // The contract says stderr; both logs are searched so the harness does not depend on
  // which stream the proxy's logger writes to.
  static const std::regex listener_re(R"(listener (\d+) listening on 127\.0\.0\.1:(\d+))");
  static const std::regex admin_re(R"(admin listening on 127\.0\.0\.1:(\d+))");
  for (;;) {
    std::string logs = stderr_log() + "\n" + stdout_log();
    listener_ports_.assign(opts.listeners, 0);
    for (std::sregex_iterator it(logs.begin(), logs.end(), listener_re), end; it != end; ++it) {
      auto index = std::stoul((*it)[1]);
      if (index < opts.listeners)
        listener_ports_[index] = static_cast<std::uint16_t>(std::stoul((*it)[2]));
    }
    std::smatch m;
    if (std::regex_search(logs, m, admin_re))
      admin_port_ = static_cast<std::uint16_t>(std::stoul(m[1]));
    bool all = (!opts.admin || admin_port_ != 0);
    for (auto p : listener_ports_) all = all && p != 0;
    if (all) break;
    if (auto code = child_.wait_exit(std::chrono::milliseconds(0)))
      fail("exited with code " + std::to_string(*code));
    if (std::chrono::steady_clock::now() >= deadline) fail("no listening lines in time");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!opts.admin) return;
  for (;;) {
    try {
      auto c = http_client::connect(admin_port_);
      if (c.get("/readyz").result() == http::status::ok) return;
    } catch (const std::exception&) {
      // Not accepting yet: poll again.
    }
    if (auto code = child_.wait_exit(std::chrono::milliseconds(0)))
      fail("exited with code " + std::to_string(*code));
    if (std::chrono::steady_clock::now() >= deadline) fail("/readyz not 200 in time");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace modelgate::test_support
