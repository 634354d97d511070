#pragma once
// Set-up shared by the end-to-end auth/quota tests: the real modelgate binary in front of a fake
// upstream (tests/integration/proxy_fixture.hpp), YAML for API keys, and a redis-server child on
// a free port (skipped when redis-server is not installed).

#include "tests/integration/proxy_fixture.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/ports.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <cstdlib>
#include <optional>
#include <sstream>

namespace quota_e2e {

// Keys used by the tests and the hex SHA-256 the config holds (`modelgate hash-key KEY`).
inline const std::string key_a = "sk-test-alpha-0123456789";
inline const std::string bearer_a = "Bearer " + key_a;

/// `modelgate hash-key KEY` through the binary itself.
inline std::string hash_key(const ts::temp_dir& dir, const std::string& key) {
  auto r = ts::run_command({MODELGATE_BIN, "hash-key", key}, dir.path());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto out = r.out;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

using modelgate::test_support::find_program;

/// `promtool check metrics` findings for `text` ("" when clean); nullopt without promtool.
inline std::optional<std::string> promtool_findings(const ts::temp_dir& dir,
                                                    const std::string& text) {
  if (!find_program("promtool")) return std::nullopt;
  auto file = dir.write("metrics.txt", text);
  auto r = ts::run_command({"promtool", "check", "metrics"}, dir.path(), file);
  if (r.exit_code != 0) return "exit " + std::to_string(r.exit_code) + ": " + r.out + r.err;
  return r.out + r.err;
}

/// A redis-server child on 127.0.0.1:port, persistence off; killed on destruction.
class redis_child {
 public:
  redis_child(std::filesystem::path bin, const ts::temp_dir& dir, std::uint16_t port)
      : bin_(std::move(bin)), dir_(dir), port_(port) {}

  bool start() {
    child_.emplace(std::vector<std::string>{bin_.string(), "--port", std::to_string(port_),
                                            "--bind", "127.0.0.1", "--save", "", "--appendonly",
                                            "no", "--dir", dir_.path().string()},
                   ts::child_io{{}, dir_.file("redis.out"), dir_.file("redis.err")});
    return ts::eventually([&] { return ping(); }, 10s);
  }
  void kill() { child_.reset(); }
  std::uint16_t port() const { return port_; }

  bool ping() const {
    namespace asio = boost::asio;
    try {
      asio::io_context io;
      asio::ip::tcp::socket s(io);
      s.connect({asio::ip::make_address("127.0.0.1"), port_});
      asio::write(s, asio::buffer(std::string_view("PING\r\n")));
      char buf[7] = {};
      asio::read(s, asio::buffer(buf, 7));
      return std::string_view(buf, 7) == "+PONG\r\n";
    } catch (const std::exception&) {
      return false;
    }
  }

 private:
  std::filesystem::path bin_;
  const ts::temp_dir& dir_;
  std::uint16_t port_;
  std::optional<ts::child_process> child_;
};

}  // namespace quota_e2e

/// ProxyTest plus helpers for keys and the quota metrics.
class QuotaTest : public ProxyTest {
 protected:
  /// `auth:` YAML with one key `team-a` (key_a) and the given quota/routes (flow style).
  std::string auth_yaml(const std::string& quota, const std::string& routes = "",
                        const std::string& extra = "") const {
    std::string y =
        "auth:\n" + extra + "  keys:\n    - id: team-a\n      sha256: \"" + sha_a + "\"\n";
    if (!routes.empty()) y += "      routes: " + routes + "\n";
    if (!quota.empty()) y += "      quota: " + quota + "\n";
    return y;
  }

  std::string header(const ts::response& r, std::string_view name) const {
    return std::string(r[name]);
  }

  std::string sha_a = quota_e2e::hash_key(dir, quota_e2e::key_a);
};
