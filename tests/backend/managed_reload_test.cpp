// A reload that replaces a managed pool (its command changed): the new replicas start while the
// old ones keep serving, the new generation takes over only once they are ready, and a
// replacement that never becomes ready is rejected with the old replicas still serving.

#include "managed_pool_fixture.hpp"

namespace modelgate::test_support {
namespace {

// POST /admin/reload: the status and the JSON body.
std::pair<unsigned, std::string> admin_reload(std::uint16_t admin_port) {
  auto c = http_client::connect(admin_port);
  c.set_timeout(60s);
  auto r = c.post("/admin/reload", "", {{"Content-Type", "application/json"}});
  return {r.result_int(), r.body()};
}

// Changing the command replaces the pool. Under a steady load, no request fails: until the new
// replicas are ready the running generation (and its replicas) serves; then the old ones drain.
TEST_F(ManagedPool, ReplacingAPoolServesFromTheOldReplicasUntilTheNewAreReady) {
  managed_options o{.min_replicas = 2, .max_replicas = 2, .scaling = "      target_queue_depth: 100\n"};
  ASSERT_NO_FATAL_FAILURE(start(o));
  ASSERT_NO_FATAL_FAILURE(wait_replicas(2, 20s));
  const auto old_replicas = children_of(proxy_->pid());

  load_generator load(proxy_->listener_port(), 2, 8);
  ASSERT_TRUE(poll_until([&] { return load.ok() >= 4; }, 10s)) << load.failures();

  o.extra_args = R"(, "--max-batch", "4")";
  dir_.write("modelgate.yaml", managed_yaml(o));
  proxy_->signal(SIGHUP);
  // The new replicas start beside the old ones while generation 1 still serves.
  bool overlap_seen = false;
  ASSERT_TRUE(poll_until([&] {
    const auto generation = metric("modelgate_config_generation");
    if (generation == 1 && children_of(proxy_->pid()).size() > 2) overlap_seen = true;
    return generation == 2;
  }, 30s)) << proxy_->stderr_log();
  EXPECT_TRUE(overlap_seen) << "the generation changed before the new replicas ran";
  const unsigned ok_at_swap = load.ok();
  // The old replicas drain and stop; the two new ones remain.
  ASSERT_TRUE(poll_until([&] {
    const auto now = children_of(proxy_->pid());
    return now.size() == 2 && std::none_of(now.begin(), now.end(), [&](pid_t p) { return old_replicas.count(p); });
  }, 20s)) << "children " << describe(children_of(proxy_->pid())) << ", old " << describe(old_replicas);
  EXPECT_TRUE(poll_until([&] { return load.ok() > ok_at_swap + 4; }, 10s));
  load.stop_all();

  EXPECT_EQ(load.failed(), 0u) << load.failures();
  EXPECT_EQ(ready(), 2);
  EXPECT_EQ(desired(), 2);
  EXPECT_EQ(metric(R"(modelgate_managed_restarts_total{pool="text"})"), 0);
  EXPECT_EQ(metric(R"(modelgate_requests_total{code="5xx"})"), 0);
  EXPECT_EQ(metric(R"(modelgate_config_reloads_total{result="success"})"), 1);
}

// A new command that never answers its ready path: the reload waits for ready_timeout, then is
// rejected (counted, logged); the old replica was never stopped and serves throughout. A reload
// asked for while one waits is refused with 409.
TEST_F(ManagedPool, AReplacementThatNeverGetsReadyIsRejectedAndTheOldReplicaServes) {
  managed_options o{.min_replicas = 1, .max_replicas = 1,
                    .scaling = "      target_queue_depth: 100\n      ready_timeout: 3s\n"};
  ASSERT_NO_FATAL_FAILURE(start(o));
  ASSERT_NO_FATAL_FAILURE(wait_replicas(1, 20s));
  const auto old_replicas = children_of(proxy_->pid());
  const auto good_yaml = managed_yaml(o);

  // Runs, but never listens on its port.
  o.command = R"([ "/bin/sh", "-c", "exec sleep 60", "sh", "{port}" ])";
  dir_.write("modelgate.yaml", managed_yaml(o));
  proxy_->signal(SIGHUP);
  ASSERT_TRUE(poll_until([&] { return children_of(proxy_->pid()).size() == 2; }, 10s));
  const auto [busy_status, busy_body] = admin_reload(proxy_->admin_port());
  EXPECT_EQ(busy_status, 409u) << busy_body;
  EXPECT_NE(busy_body.find("already waiting"), std::string::npos) << busy_body;
  EXPECT_EQ(complete(8), 200u) << "the old replica stopped serving while the reload waited";

  ASSERT_TRUE(poll_until([&] { return metric(R"(modelgate_config_reloads_total{result="failure"})") == 1; }, 15s));
  EXPECT_NE(proxy_->stderr_log().find("pool text: no replica became ready within 3000 ms"), std::string::npos)
      << proxy_->stderr_log();
  EXPECT_EQ(metric("modelgate_config_generation"), 1);
  // The waiting replica is stopped and reaped; the old one was never touched.
  EXPECT_TRUE(poll_until([&] { return children_of(proxy_->pid()) == old_replicas; }, 15s))
      << "children " << describe(children_of(proxy_->pid())) << ", old " << describe(old_replicas);
  EXPECT_EQ(complete(8), 200u);
  EXPECT_EQ(ready(), 1);

  // The same through the admin listener: 400 naming the pool, after the wait.
  const auto [status, body] = admin_reload(proxy_->admin_port());
  EXPECT_EQ(status, 400u) << body;
  EXPECT_NE(body.find("pool text: no replica became ready"), std::string::npos) << body;
  EXPECT_EQ(metric("modelgate_config_generation"), 1);

  // The good file again: a reload with nothing to wait for succeeds and keeps the replica.
  dir_.write("modelgate.yaml", good_yaml);
  const auto [ok_status, ok_body] = admin_reload(proxy_->admin_port());
  EXPECT_EQ(ok_status, 200u) << ok_body;
  EXPECT_TRUE(poll_until([&] { return children_of(proxy_->pid()) == old_replicas; }, 15s))
      << "children " << describe(children_of(proxy_->pid()));
  EXPECT_EQ(complete(8), 200u);
}

}  // namespace
}  // namespace modelgate::test_support
