#pragma once
// What the managed-pool tests share: the real modelgate proxy running real modelgate-backend
// replicas (textgen demo model, one libtorch thread each), the replicas found as the proxy's child
// processes in /proc, and a load generator of client threads.

#include "backend_test_util.hpp"
#include "tests/support/prometheus_text.hpp"
#include "tests/support/proxy_process.hpp"
#include "tests/support/wait.hpp"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <fstream>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include <sys/types.h>

namespace modelgate::test_support {

using namespace std::chrono_literals;

inline std::filesystem::path proxy_binary() { return MODELGATE_BIN; }

// The pids of the live (not zombie) processes whose parent is `parent`, from /proc/*/stat.
inline std::set<pid_t> children_of(pid_t parent) {
  std::set<pid_t> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const auto name = entry.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    std::ifstream in(entry.path() / "stat");
    std::string stat;
    if (!std::getline(in, stat)) continue;  // exited meanwhile
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ')'.
    const auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 1));
    char state = 0;
    pid_t ppid = 0;
    if (!(rest >> state >> ppid)) continue;
    if (ppid == parent && state != 'Z') out.insert(static_cast<pid_t>(std::stol(name)));
  }
  return out;
}

inline bool process_exists(pid_t pid) { return std::filesystem::exists("/proc/" + std::to_string(pid)); }

// Whether process `pid` finished dying: gone, or only its zombie thread-group leader is left.
// A leader shows 'Z' as soon as its own thread exits, while the other threads (libtorch has
// many) still hold the process's files, listening socket included.
inline bool process_dead(pid_t pid) {
  const std::filesystem::path tasks = "/proc/" + std::to_string(pid) + "/task";
  std::error_code ec;
  std::size_t threads = 0;
  for (auto it = std::filesystem::directory_iterator(tasks, ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec))
    ++threads;
  if (ec) return !process_exists(pid);
  if (threads > 1) return false;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return true;
  const auto close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z';
}

inline std::string describe(const std::set<pid_t>& pids) {
  std::string s = "{";
  for (auto p : pids) s += " " + std::to_string(p);
  return s + " }";
}

// eventually() that checks every 50 ms: each check scrapes the admin listener and scans /proc,
// which should not take CPU from the replicas on a small machine.
template <class Predicate>
bool poll_until(Predicate done, std::chrono::milliseconds timeout) {
  return eventually([&] {
    if (done()) return true;
    std::this_thread::sleep_for(50ms);
    return false;
  }, timeout);
}

struct managed_options {
  unsigned min_replicas = 1;
  unsigned max_replicas = 1;
  std::string scaling;  // extra `managed:` lines, each indented by 6 spaces
  std::string extra_args{};  // appended to the replica's argv, e.g. R"(, "--max-batch", "4")"
  std::string command{};     // replaces the whole command (a YAML flow list) when not empty
};

inline std::string managed_yaml(const managed_options& o) {
  std::string command = "[ \"" + backend_binary() + "\", \"serve\", \"--model\", \"" +
                        demo_model("textgen", {"--steps", "0"}).string() +
                        "\", \"--kind\", \"textgen\", \"--threads\", \"1\", \"--listen\", "
                        "\"127.0.0.1:{port}\"" + o.extra_args + " ]";
  if (!o.command.empty()) command = o.command;
  return "workers: 2\n"
         "listeners: [ { address: 127.0.0.1:0 } ]\n"
         "admin: { address: 127.0.0.1:0 }\n"
         "access_log: { path: stdout }\n"  // proxy.out, kept with the test dir when a test fails
         "pools:\n"
         "  - name: text\n"
         "    policy: least_queue\n"
         "    managed:\n"
         "      command: " + command + "\n"
         "      min_replicas: " + std::to_string(o.min_replicas) + "\n"
         "      max_replicas: " + std::to_string(o.max_replicas) + "\n" +
         o.scaling +
         "routes:\n"
         "  - { path_prefix: /, pool: text }\n";
}

inline std::string completion_body(int max_tokens, bool stream = false) {
  return R"({"model":"textgen","prompt":"hello","max_tokens":)" + std::to_string(max_tokens) +
         (stream ? R"(,"stream":true})" : "}");
}

class ManagedPool : public ::testing::Test {
 protected:
  void start(const managed_options& o) {
    proxy_ = std::make_unique<proxy_process>(proxy_binary(), dir_, managed_yaml(o));
  }

  // Sum of a metric on the admin listener: 0 when no such series exists yet, -1 when the
  // scrape failed.
  double metric(const std::string& name) const {
    try {
      return metric_sum(proxy_->admin_get("/metrics"), name).value_or(0);
    } catch (const std::exception&) {
      return -1;
    }
  }
  double ready() const { return metric(R"(modelgate_managed_replicas_ready{pool="text"})"); }
  double desired() const { return metric(R"(modelgate_managed_replicas_desired{pool="text"})"); }

  // Waits until the pool has `n` ready replicas and exactly `n` child processes.
  void wait_replicas(unsigned n, std::chrono::milliseconds timeout) {
    const bool ok = poll_until(
        [&] { return ready() == n && children_of(proxy_->pid()).size() == n; }, timeout);
    ASSERT_TRUE(ok) << "ready " << ready() << ", desired " << desired() << ", children "
                    << describe(children_of(proxy_->pid())) << ", wanted " << n;
  }

  // One completion on a fresh connection; the status (0 when the connection failed).
  unsigned complete(int max_tokens, std::string* body = nullptr) const {
    try {
      auto c = http_client::connect(proxy_->listener_port());
      c.set_timeout(20s);
      auto r = c.post("/v1/completions", completion_body(max_tokens), {{"Content-Type", "application/json"}});
      if (body) *body = r.body();
      return r.result_int();
    } catch (const std::exception& e) {
      if (body) *body = e.what();
      return 0;
    }
  }

  temp_dir dir_;
  std::unique_ptr<proxy_process> proxy_;
};

// Client threads looping completions on keep-alive connections until told to stop, counting
// statuses (0 = transport error). Each thread stops on its own flag, so the load can be lowered.
class load_generator {
 public:
  load_generator(std::uint16_t port, unsigned threads, int max_tokens) : stops_(threads) {
    for (unsigned i = 0; i < threads; ++i) {
      stops_[i] = std::make_unique<std::atomic<bool>>(false);
      threads_.emplace_back([this, port, max_tokens, stop = stops_[i].get()] { loop(port, max_tokens, *stop); });
    }
  }
  ~load_generator() { stop_all(); }

  /// Stops every thread but the first `keep`, and waits for them.
  void keep_only(unsigned keep) {
    for (std::size_t i = keep; i < threads_.size(); ++i) *stops_[i] = true;
    for (std::size_t i = keep; i < threads_.size(); ++i)
      if (threads_[i].joinable()) threads_[i].join();
  }
  void stop_all() { keep_only(0); }

  unsigned ok() const { return ok_.load(); }
  unsigned failed() const { return failed_.load(); }
  std::string failures() const {
    std::lock_guard lock(m_);
    return failures_;
  }

 private:
  void loop(std::uint16_t port, int max_tokens, const std::atomic<bool>& stop) {
    // Bounded: stops on its own after 60 s even if the test forgets it.
    const auto deadline = steady_clock::now() + 60s;
    std::optional<http_client> c;
    while (!stop && steady_clock::now() < deadline) {
      try {
        if (!c) {
          c.emplace(http_client::connect(port));
          c->set_timeout(20s);
        }
        auto r = c->post("/v1/completions", completion_body(max_tokens), {{"Content-Type", "application/json"}});
        if (r.result_int() == 200) {
          ++ok_;
        } else {
          record("status " + std::to_string(r.result_int()) + ": " + r.body().substr(0, 200));
        }
        if (!r.keep_alive()) c.reset();
      } catch (const std::exception& e) {
        record(std::string("transport: ") + e.what());
        c.reset();
      }
    }
  }
  void record(const std::string& what) {
    ++failed_;
    std::lock_guard lock(m_);
    if (failures_.size() < 4000) failures_ += what + "\n";
  }

  std::vector<std::unique_ptr<std::atomic<bool>>> stops_;
  std::vector<std::thread> threads_;
  std::atomic<unsigned> ok_{0}, failed_{0};
  mutable std::mutex m_;
  std::string failures_;
};

}  // namespace modelgate::test_support
