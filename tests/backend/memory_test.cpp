// modelgate-backend gives back the memory a large request took (issue 14, item 10): jemalloc
// returns freed pages after a few seconds, from a background thread, even when no request
// follows.

#include "backend_test_util.hpp"
#include "proc_status.hpp"
#include "rows_body.hpp"
#include "tests/support/wait.hpp"

#include <thread>

namespace modelgate::test_support {
namespace {

response post(std::uint16_t port, const std::string& body) {
  auto c = http_client::connect(port);
  c.set_timeout(std::chrono::seconds(60));
  return c.post("/v2/models/classifier/infer", body, {{"Content-Type", "application/json"}});
}

// Issue 14: after a large request the backend kept its peak memory (jemalloc never purged).
TEST(Memory, GoesBackAfterALargeRequest) {
  backend_process b(demo_model("classifier", {"--steps", "40"}), "classifier",
                    {"--max-batch", "16", "--threads", "1"});
  EXPECT_NE(b.log().find("jemalloc: dirty_decay_ms 5000, background_thread true"), std::string::npos)
      << "malloc_conf did not take:\n" << b.log();
  const auto pid = b.process().pid();
  ASSERT_EQ(post(b.port(), rows_body(0, 1)).result_int(), 200u);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const auto before = proc_status_bytes(pid, "VmRSS");
  // About 22 MB of JSON: its text, its parsed form and its floats.
  const auto body = rows_body(0, 256);
  ASSERT_EQ(post(b.port(), body).result_int(), 200u);
  const auto peak = proc_status_bytes(pid, "VmHWM");
  ASSERT_GT(peak, before + 48 * mib) << "no spike to recover from: " << before / mib << " -> "
                                     << peak / mib << " MiB";
  std::size_t now = 0;
  const bool back = eventually(
      [&] {
        now = proc_status_bytes(pid, "VmRSS");
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        return now < before + 16 * mib;
      },
      std::chrono::seconds(20));
  EXPECT_TRUE(back) << "RSS before " << before / mib << " MiB, peak " << peak / mib
                    << " MiB, 20 s later " << now / mib << " MiB";
}

}  // namespace
}  // namespace modelgate::test_support
