// Managed pools end to end: the real modelgate proxy runs real modelgate-backend replicas and
// starts, reloads, autoscales, restarts and stops them.

#include "managed_pool_fixture.hpp"

namespace modelgate::test_support {
namespace {

// min_replicas start on their own and serve; a reload with the same file keeps them (same pids).
TEST_F(ManagedPool, StartsMinReplicasAndAnUnchangedReloadKeepsThem) {
  ASSERT_NO_FATAL_FAILURE(start({.min_replicas = 2, .max_replicas = 2, .scaling = "      target_queue_depth: 100\n"}));
  ASSERT_NO_FATAL_FAILURE(wait_replicas(2, 20s));
  const auto before = children_of(proxy_->pid());
  EXPECT_EQ(desired(), 2);
  EXPECT_NE(proxy_->stderr_log().find("(socket passed by the parent: LISTEN_FDS)"), std::string::npos)
      << "a modelgate-backend replica gets its socket from the proxy by default";

  for (int i = 0; i < 6; ++i) {
    std::string body;
    ASSERT_EQ(complete(8, &body), 200u) << body;
    EXPECT_NE(body.find("\"choices\""), std::string::npos) << body;
  }
  // Counted once the response is written, which may be just after the client read it.
  EXPECT_TRUE(poll_until([&] { return metric(R"(modelgate_requests_total{code="2xx"})") == 6; }, 2s))
      << metric(R"(modelgate_requests_total{code="2xx"})");

  proxy_->signal(SIGHUP);
  ASSERT_TRUE(poll_until([&] { return metric("modelgate_config_generation") == 2; }, 10s))
      << "generation " << metric("modelgate_config_generation");
  // A reload that restarted the pool would drain the old replicas and start new ones: give it
  // the time to show.
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(children_of(proxy_->pid()), before)
      << "before " << describe(before) << ", after " << describe(children_of(proxy_->pid()));
  EXPECT_EQ(ready(), 2);
  EXPECT_EQ(metric(R"(modelgate_managed_restarts_total{pool="text"})"), 0);
  for (int i = 0; i < 4; ++i) {
    std::string body;
    EXPECT_EQ(complete(8, &body), 200u) << body;
  }
  EXPECT_EQ(children_of(proxy_->pid()), before);
  EXPECT_EQ(metric("modelgate_upstream_failed_attempts_total"), 0);
}

// Heavy load grows the pool to max_replicas; a light load that keeps running shrinks it back to
// min_replicas, draining each replica before stopping it: no request fails on the way.
TEST_F(ManagedPool, AReloadOfScalingKeysKeepsTheRunningReplicas) {
  managed_options o{.min_replicas = 1, .max_replicas = 3, .scaling = "      target_queue_depth: 100\n"};
  ASSERT_NO_FATAL_FAILURE(start(o));
  ASSERT_NO_FATAL_FAILURE(wait_replicas(1, 20s));
  const auto first = children_of(proxy_->pid());
  // min_replicas and the target change: the same pool, one more replica, nothing restarted.
  o.min_replicas = 2;
  o.scaling = "      target_queue_depth: 50\n";
  dir_.write("modelgate.yaml", managed_yaml(o));
  proxy_->signal(SIGHUP);
  ASSERT_TRUE(poll_until([&] { return metric("modelgate_config_generation") == 2; }, 10s));
  ASSERT_NO_FATAL_FAILURE(wait_replicas(2, 20s));
  const auto now = children_of(proxy_->pid());
  EXPECT_TRUE(std::includes(now.begin(), now.end(), first.begin(), first.end()))
      << "the first replica was restarted: before " << describe(first) << ", after " << describe(now);
  EXPECT_EQ(desired(), 2);
  EXPECT_EQ(complete(8), 200u);
  EXPECT_EQ(metric(R"(modelgate_managed_restarts_total{pool="text"})"), 0);
}

TEST_F(ManagedPool, AutoscalesUpUnderLoadAndBackDownWithoutFailedRequests) {
  ASSERT_NO_FATAL_FAILURE(start({.min_replicas = 1,
                                 .max_replicas = 3,
                                 .scaling = "      target_queue_depth: 2\n"
                                            "      scale_up_cooldown: 1s\n"
                                            "      scale_down_cooldown: 2s\n"
                                            "      scale_window: 1s\n"}));
  ASSERT_NO_FATAL_FAILURE(wait_replicas(1, 20s));

  load_generator load(proxy_->listener_port(), 12, 48);
  const bool grew = poll_until([&] { return ready() == 3; }, 20s);
  ASSERT_TRUE(grew) << "ready " << ready() << ", desired " << desired() << ", ok " << load.ok()
                    << ", failed " << load.failed() << "\n" << load.failures();
  EXPECT_EQ(children_of(proxy_->pid()).size(), 3u);
  const double up = metric(R"(modelgate_managed_scale_events_total{direction="up"})");
  EXPECT_GE(up, 1);
  EXPECT_LE(up, 2);  // 1→3 in one step or two

  // One client keeps sending: the scale-down drains replicas while requests flow.
  load.keep_only(1);
  const unsigned ok_at_peak = load.ok();
  const bool shrank = poll_until(
      [&] { return desired() == 1 && ready() == 1 && children_of(proxy_->pid()).size() == 1; }, 20s);
  EXPECT_TRUE(shrank) << "ready " << ready() << ", desired " << desired() << ", children "
                      << describe(children_of(proxy_->pid()));
  EXPECT_GT(load.ok(), ok_at_peak) << "the light load made no request during the scale-down";
  load.stop_all();

  EXPECT_EQ(load.failed(), 0u) << load.failures();
  EXPECT_GT(load.ok(), 20u);
  EXPECT_EQ(metric(R"(modelgate_managed_scale_events_total{direction="down"})"), 2);
  EXPECT_EQ(metric(R"(modelgate_managed_restarts_total{pool="text"})"), 0)
      << "a replica stopped by the scale-down counted as a crash";
  EXPECT_EQ(metric(R"(modelgate_requests_total{code="5xx"})"), 0);
  // A replica leaves the pool before it stops: no request tried to reach a stopped one (such
  // attempts would be retried and go unnoticed by the clients).
  EXPECT_EQ(metric("modelgate_upstream_connect_failures_total"), 0);
  EXPECT_EQ(metric("modelgate_upstream_failed_attempts_total"), 0);
}

// A replica killed from outside is replaced (counted as a restart); requests made meanwhile go
// to the other replica.
TEST_F(ManagedPool, RestartsAKilledReplicaWhileTheOtherServes) {
  ASSERT_NO_FATAL_FAILURE(start({.min_replicas = 2, .max_replicas = 2, .scaling = "      target_queue_depth: 100\n"}));
  ASSERT_NO_FATAL_FAILURE(wait_replicas(2, 20s));
  const auto before = children_of(proxy_->pid());
  ASSERT_EQ(before.size(), 2u);
  const pid_t victim = *before.begin();
  const pid_t survivor = *before.rbegin();
  // The proxy now keeps idle keep-alive connections to the replicas it used.
  for (int i = 0; i < 4; ++i) ASSERT_EQ(complete(8), 200u);

  // Killed between two requests, so none is in flight on it: every request must succeed. kill()
  // returns before the process has died: until its last thread has closed its files (a libtorch
  // process takes a few ms), its listening socket still completes handshakes, and a request sent
  // then dies with it (a reset, which is not retried by default). So wait for the zombie; the
  // proxy may not have reaped it yet.
  ASSERT_EQ(::kill(victim, SIGKILL), 0);
  ASSERT_TRUE(eventually([&] { return process_dead(victim); }, 5s));
  unsigned requests = 0;
  std::string failures;
  auto request = [&] {
    std::string body;
    const auto status = complete(8, &body);
    ++requests;
    if (status != 200)
      failures += "request " + std::to_string(requests) + " → " + std::to_string(status) + ": " +
                  body.substr(0, 200) + "\n";
  };
  const auto replaced = [&] {
    const auto now = children_of(proxy_->pid());
    return metric(R"(modelgate_managed_restarts_total{pool="text"})") == 1 && ready() == 2 &&
           now.size() == 2 && now.count(survivor) == 1 && now.count(victim) == 0;
  };
  unsigned while_one_ready = 0;  // requests made while only the survivor was in the pool
  const auto deadline = steady_clock::now() + 20s;
  while (!replaced() && steady_clock::now() < deadline) {
    if (ready() < 2) ++while_one_ready;
    request();
  }
  ASSERT_TRUE(replaced()) << "restarts " << metric(R"(modelgate_managed_restarts_total{pool="text"})")
                          << ", ready " << ready() << ", children " << describe(children_of(proxy_->pid()));
  for (int i = 0; i < 4; ++i) request();  // and with the new replica in the pool
  EXPECT_GT(while_one_ready, 0u) << "no request was made while the replica was down";
  EXPECT_TRUE(failures.empty()) << "of " << requests << " requests:\n" << failures;
  const auto after = children_of(proxy_->pid());
  EXPECT_EQ(after.size(), 2u);
  EXPECT_FALSE(process_exists(victim)) << "the killed replica was not reaped";
  EXPECT_EQ(metric(R"(modelgate_managed_restarts_total{pool="text"})"), 1);
}

// SIGTERM while a completion streams: the stream finishes, the replicas are stopped and reaped
// by the proxy, and it exits 0 leaving no child behind.
TEST_F(ManagedPool, SigtermFinishesTheStreamThenStopsEveryReplica) {
  ASSERT_NO_FATAL_FAILURE(start({.min_replicas = 2, .max_replicas = 2, .scaling = "      target_queue_depth: 100\n"}));
  ASSERT_NO_FATAL_FAILURE(wait_replicas(2, 20s));
  const auto replicas = children_of(proxy_->pid());
  ASSERT_EQ(replicas.size(), 2u);

  auto c = http_client::connect(proxy_->listener_port());
  c.set_timeout(30s);
  request req{http::verb::post, "/v1/completions", 11};
  req.set(http::field::content_type, "application/json");
  req.body() = completion_body(200, true);
  c.send(req);
  streamed_response res;
  c.read_header(res);
  ASSERT_EQ(res.header.result_int(), 200u);
  ASSERT_TRUE(c.read_piece(res)) << res.error.message();
  const auto before_signal = res.body();
  ASSERT_EQ(before_signal.find("[DONE]"), std::string::npos) << "the stream ended before the signal";

  proxy_->signal(SIGTERM);
  const auto signalled = res.pieces.size();
  while (c.read_piece(res)) {
  }
  EXPECT_TRUE(res.complete) << res.error.message();
  EXPECT_GT(res.pieces.size(), signalled) << "nothing arrived after SIGTERM";
  const auto body = res.body();
  EXPECT_NE(body.find("data: [DONE]"), std::string::npos) << body.substr(body.size() > 500 ? body.size() - 500 : 0);

  const auto code = proxy_->wait_exit(30s);
  ASSERT_TRUE(code.has_value()) << "the proxy still runs 30 s after SIGTERM";
  EXPECT_EQ(*code, 0);
  const auto log = proxy_->stderr_log();
  for (auto pid : replicas) {
    EXPECT_FALSE(process_exists(pid)) << "replica " << pid << " outlived the proxy";
    // Stopped and reaped by the proxy itself, not by the parent-death signal after it exited.
    EXPECT_NE(log.find("(pid " + std::to_string(pid) + ") stopped"), std::string::npos)
        << "no stop of replica " << pid << " in the log";
  }
}

// Issue 14, item 13: the port a replica was given was free between the proxy choosing it and
// the replica binding it, so another local process could take it (and receive requests with
// their forwarded API keys). Now the proxy binds it, listens, and passes the socket. A wrapper
// checks, before it starts the backend, that the port already listens and that LISTEN_FDS and
// LISTEN_PID name this process; `listen_fds: true` because the program is not modelgate-backend.
TEST_F(ManagedPool, EachReplicaGetsItsListeningSocketFromTheProxy) {
  const std::string check =
      "grep -q \":$(printf %04X \"$1\") 00000000:0000 0A\" /proc/net/tcp && [ \"$LISTEN_FDS\" = 1 ] && "
      "[ \"$LISTEN_PID\" = \"$$\" ] || { echo \"replica check failed on port $1\" >&2; exit 1; }; "
      "shift; exec \"$@\"";
  const std::string command = "[ \"/bin/sh\", \"-c\", " + json::serialize(json::string(check)) +
                              ", \"sh\", \"{port}\", \"" + backend_binary() + "\", \"serve\", \"--model\", \"" +
                              demo_model("textgen", {"--steps", "0"}).string() +
                              "\", \"--kind\", \"textgen\", \"--threads\", \"1\", \"--listen\", "
                              "\"127.0.0.1:{port}\" ]";
  ASSERT_NO_FATAL_FAILURE(start({.min_replicas = 1,
                                 .max_replicas = 1,
                                 .scaling = "      listen_fds: true\n      ready_timeout: 20s\n",
                                 .command = command}));
  ASSERT_NO_FATAL_FAILURE(wait_replicas(1, 20s));
  std::string body;
  EXPECT_EQ(complete(8, &body), 200u) << body;
  const auto log = proxy_->stderr_log();
  EXPECT_EQ(log.find("replica check failed"), std::string::npos) << log;
  EXPECT_NE(log.find("(socket passed by the parent: LISTEN_FDS)"), std::string::npos) << log;
  EXPECT_EQ(metric(R"(modelgate_managed_restarts_total{pool="text"})"), 0);
}

}  // namespace
}  // namespace modelgate::test_support
