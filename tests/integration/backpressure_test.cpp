// A client that stops reading a fast stream must stall the upstream through TCP flow control,
// not make the proxy buffer the stream in memory; when it reads again it gets every byte.

#include "tests/integration/proxy_fixture.hpp"

#include <iostream>
#include <thread>

namespace {

constexpr double mib = 1024.0 * 1024.0;

// Samples `value` every `step` until two samples in a row are equal (→ that value) or `timeout`
// passes (→ nullopt).
template <class Value>
std::optional<std::size_t> settled(Value value, std::chrono::milliseconds step,
                                   std::chrono::milliseconds timeout) {
  const auto deadline = ts::steady_clock::now() + timeout;
  std::size_t last = value();
  while (ts::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(step);
    std::size_t now = value();
    if (now == last) return now;
    last = now;
  }
  return std::nullopt;
}

}  // namespace

TEST_F(ProxyTest, StalledStreamReaderStallsTheUpstreamNotTheProxyMemory) {
  // 64 MiB of SSE as fast as the upstream can write: several times what the four socket buffers
  // on the path (upstream → proxy → client) can hold, so a proxy without flow control would
  // have to keep tens of MiB.
  constexpr int events = 16384;
  constexpr std::size_t event_bytes = 4096;
  constexpr std::size_t total = events * event_bytes;
  upstream.on("/v1/flood", ts::upstream_behaviour::sse(events, 0ms).with_event_bytes(event_bytes));
  auto cfg = config();
  cfg.access_log = "off";
  start(cfg);
  ASSERT_EQ(client().get("/v1/warm-up").result_int(), 200);
  const std::size_t rss_before = proxy->rss_bytes();
  ASSERT_GT(rss_before, 0u);

  auto c = client();
  c.set_timeout(10s);
  c.send({http::verb::get, "/v1/flood", 11});
  ts::streamed_response s;
  c.read_header(s);
  ASSERT_EQ(s.header.result_int(), 200);

  // The client reads nothing more. The upstream's progress must stop well short of the end.
  auto blocked_at = settled([&] { return upstream.sse_bytes_written(); }, 500ms, 15s);
  ASSERT_TRUE(blocked_at) << "the upstream never stopped writing";
  EXPECT_LT(*blocked_at, total / 2) << "the upstream was not held back";
  const std::size_t rss_blocked = proxy->rss_bytes();
  // Stalled for a few seconds more: nothing moves, nothing grows.
  std::this_thread::sleep_for(2s);
  const std::size_t rss_later = proxy->rss_bytes();
  EXPECT_EQ(upstream.sse_bytes_written(), *blocked_at);
  const auto growth = static_cast<double>(std::max(rss_blocked, rss_later)) - rss_before;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // Sanitizer allocators keep freed memory in quarantine (ASan: up to 256 MiB), so RSS says
  // nothing here; the upstream being held back (above) is the evidence in those builds.
  constexpr double rss_bound = 1024 * mib;
#else
  constexpr double rss_bound = 16 * mib;
#endif
  EXPECT_LT(growth, rss_bound) << "proxy RSS grew while the client was stalled";

  // Reading again: the whole stream arrives, intact and in order.
  while (c.read_piece(s)) {
  }
  ASSERT_TRUE(s.complete) << s.error.message();
  const std::string body = s.body();
  ASSERT_EQ(body.size(), total);
  std::size_t at = 0;
  for (int i = 0; i < events; ++i) {
    const auto expected = ts::upstream_behaviour::sse_event(i, event_bytes);
    ASSERT_EQ(body.compare(at, expected.size(), expected), 0) << "event " << i;
    at += expected.size();
  }
  EXPECT_EQ(upstream.sse_bytes_written(), total);
  EXPECT_EQ(c.get("/v1/after").result_int(), 200) << "the connection is reusable after it";

  std::cout << "[backpressure] upstream blocked after " << *blocked_at / mib << " MiB of "
            << total / mib << " MiB; proxy RSS " << rss_before / mib << " MiB before, "
            << rss_blocked / mib << " MiB blocked, " << rss_later / mib << " MiB 2 s later, "
            << proxy->rss_bytes() / mib << " MiB after the stream\n";
}
