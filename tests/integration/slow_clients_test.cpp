// Slow and idle clients must not starve others: a slowloris crowd trickling header bytes is cut
// off by header_timeout (408) while a normal client keeps being served at once.

#include "tests/integration/proxy_fixture.hpp"

#include <sys/resource.h>

#include <thread>

namespace {

// Room for the crowd in this test process (the proxy raises its own limit).
bool raise_fd_limit(rlim_t wanted) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return false;
  if (lim.rlim_cur >= wanted) return true;
  if (lim.rlim_max < wanted) return false;
  lim.rlim_cur = wanted;
  return setrlimit(RLIMIT_NOFILE, &lim) == 0;
}

}  // namespace

TEST_F(ProxyTest, SlowlorisCrowdDoesNotStopNormalClients) {
  constexpr int crowd = 1000;
  if (!raise_fd_limit(crowd + 200)) GTEST_SKIP() << "the fd limit is below " << crowd + 200;
  auto cfg = config();
  cfg.tls = false;
  cfg.header_timeout = "3s";
  start(cfg);
  const auto port = proxy->listener_port(0);

  std::vector<ts::http_client> slow;
  slow.reserve(crowd);
  for (int i = 0; i < crowd; ++i) {
    slow.push_back(ts::http_client::connect(port));
    slow.back().write_raw("GET /v1/slow HTTP/1.1\r\nHost: a\r\n");
  }
  EXPECT_TRUE(ts::eventually([&] { return metric("modelgate_downstream_connections") >= crowd; }));

  // While the crowd trickles one header line each per round, a normal client is served (its
  // deadline is far below the crowd's header_timeout, so it is not merely outlasting them).
  auto normal = ts::http_client::connect(port);
  normal.set_timeout(2s);
  for (int round = 0; round < 5; ++round) {
    for (auto& s : slow) (void)s.try_write_raw("X-Trickle: 1\r\n");
    EXPECT_EQ(normal.get("/v1/normal").result_int(), 200) << "round " << round;
    std::this_thread::sleep_for(200ms);
  }

  // header_timeout bounds the whole header however it trickles: the crowd gets 408 and is closed.
  EXPECT_TRUE(ts::eventually([&] { return metric("modelgate_downstream_connections") <= 1; }, 10s));
  int timed_out = 0;
  for (auto& s : slow) {
    s.set_timeout(1s);
    try {
      if (s.read_response().result_int() == 408) ++timed_out;
    } catch (const std::exception&) {
      // Closed before the answer was read: still cut off.
    }
  }
  EXPECT_GT(timed_out, crowd / 2);
  EXPECT_EQ(upstream.requests(), 5u) << "only the normal client's requests were forwarded";
}
