// Child processes, temp dirs, metric parsing and proxy start-up discovery (with a stand-in
// script for the binary).

#include <gtest/gtest.h>

#include <csignal>

#include "tests/support/child_process.hpp"
#include "tests/support/prometheus_text.hpp"
#include "tests/support/proxy_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace ts = modelgate::test_support;
using namespace std::chrono_literals;

TEST(ChildProcess, RunCommandCapturesOutputsAndExitCode) {
  ts::temp_dir dir;
  auto r = ts::run_command({"sh", "-c", "echo out; echo err >&2; exit 3"}, dir.path());
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
}

TEST(ChildProcess, FeedsStdinFromAFile) {
  ts::temp_dir dir;
  auto in = dir.write("in.txt", "hello");
  EXPECT_EQ(ts::run_command({"cat"}, dir.path(), in).out, "hello");
}

TEST(ChildProcess, WaitTimesOutThenReportsTheSignal) {
  ts::child_process p({"sleep", "30"}, {});
  EXPECT_FALSE(p.wait_exit(50ms));
  EXPECT_TRUE(p.running());
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait_exit(2s), 128 + SIGTERM);
  EXPECT_FALSE(p.running());
}

TEST(ChildProcess, MissingProgramExits127) {
  ts::child_process p({"/nonexistent/program"}, {});
  EXPECT_EQ(p.wait_exit(2s), 127);
}

TEST(TempDir, WritesReadsAndRemoves) {
  std::filesystem::path kept;
  {
    ts::temp_dir dir;
    kept = dir.path();
    dir.write("a.txt", "abc");
    EXPECT_EQ(dir.read("a.txt"), "abc");
    EXPECT_EQ(dir.read("absent"), "");
  }
  EXPECT_FALSE(std::filesystem::exists(kept));
}

TEST(MetricSum, SumsSeriesAndFiltersLabels) {
  const char* text =
      "# HELP modelgate_requests_total Requests.\n"
      "# TYPE modelgate_requests_total counter\n"
      "modelgate_requests_total{route=\"a\",code=\"2xx\"} 3\n"
      "modelgate_requests_total{route=\"b\",code=\"5xx\"} 2\n"
      "modelgate_requests_total_extra 100\n"
      "modelgate_up 1\n";
  EXPECT_EQ(ts::metric_sum(text, "modelgate_requests_total"), 5.0);
  EXPECT_EQ(ts::metric_sum(text, "modelgate_requests_total{code=\"5xx\"}"), 2.0);
  EXPECT_EQ(ts::metric_sum(text, "modelgate_up"), 1.0);
  EXPECT_FALSE(ts::metric_sum(text, "modelgate_absent"));
}

namespace {

// A stand-in for the binary: prints the lines the proxy prints, then idles.
std::filesystem::path fake_binary(const ts::temp_dir& dir, const std::string& script) {
  auto p = dir.write("fake-modelgate", "#!/bin/sh\n" + script);
  std::filesystem::permissions(p, std::filesystem::perms::owner_all);
  return p;
}

}  // namespace

TEST(ProxyProcess, ReadsListenerPortsFromTheLog) {
  ts::temp_dir dir;
  auto bin = fake_binary(dir,
                         "echo 'x info listener 1 listening on 127.0.0.1:2222 (tls)' >&2\n"
                         "echo 'x info listener 0 listening on 127.0.0.1:1111' >&2\n"
                         "exec sleep 30\n");
  ts::proxy_process p(bin, dir, "workers: 1\n", {.listeners = 2, .admin = false});
  EXPECT_EQ(p.listener_port(0), 1111);
  EXPECT_EQ(p.listener_port(1), 2222);
  EXPECT_EQ(dir.read("modelgate.yaml"), "workers: 1\n");
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait_exit(2s), 128 + SIGTERM);
}

TEST(ProxyProcess, ThrowsWithLogsWhenTheBinaryExits) {
  ts::temp_dir dir;
  auto bin = fake_binary(dir, "echo 'config error: bad key' >&2\nexit 1\n");
  try {
    ts::proxy_process p(bin, dir, "x: 1\n", {.admin = false});
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("bad key"), std::string::npos) << e.what();
  }
}
