#include "backend_process.hpp"

#include "tests/support/wait.hpp"

#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <mutex>
#include <regex>
#include <sstream>

#include <unistd.h>

namespace modelgate::test_support {

std::string backend_binary() { return MODELGATE_BACKEND_BIN; }

namespace {

// Where made models are kept across test processes (ctest runs each test in its own process),
// keyed by the make-model arguments and the binary's size and time, so a rebuilt maker makes
// them again.
std::filesystem::path model_cache_dir() {
#ifdef MODELGATE_BACKEND_MODEL_CACHE
  return MODELGATE_BACKEND_MODEL_CACHE;
#else
  return {};
#endif
}

std::string cache_key(const std::string& args) {
  const auto bin = std::filesystem::path(backend_binary());
  const auto stamp = std::filesystem::last_write_time(bin).time_since_epoch().count();
  const auto h = std::hash<std::string>{}(args + "|" + std::to_string(std::filesystem::file_size(bin)) +
                                          "|" + std::to_string(stamp));
  std::ostringstream s;
  s << std::hex << h;
  return s.str();
}

}  // namespace

std::filesystem::path demo_model(const std::string& kind, const std::vector<std::string>& extra) {
  static std::mutex m;
  static std::map<std::string, std::filesystem::path> made;
  static temp_dir dir;  // lives until the test binary exits
  std::lock_guard lock(m);
  std::string key = kind;
  for (const auto& e : extra) key += " " + e;
  if (auto it = made.find(key); it != made.end()) return it->second;
  std::filesystem::path out = dir.file(kind + std::to_string(made.size()) + ".pt");
  const auto cache = model_cache_dir();
  if (!cache.empty()) {
    std::filesystem::create_directories(cache);
    out = cache / (kind + "-" + cache_key(key) + ".pt");
    if (std::filesystem::exists(out)) return made[key] = out;
  }
  // Made under a temporary name and renamed: a concurrent test process never reads half a file.
  const auto partial = dir.file(kind + std::to_string(made.size()) + ".partial.pt");
  std::vector<std::string> argv{backend_binary(), "make-model", "--kind", kind,
                                "--out",          partial.string(), "--seed", "1"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto r = run_command(argv, dir.path(), {}, std::chrono::seconds(300));
  if (r.exit_code != 0)
    throw std::runtime_error("make-model failed: " + r.out + r.err);
  const auto tmp = out.string() + "." + std::to_string(::getpid()) + ".tmp";
  std::filesystem::copy_file(partial, tmp, std::filesystem::copy_options::overwrite_existing);
  std::filesystem::rename(tmp, out);
  made[key] = out;
  return out;
}

backend_process::backend_process(const std::filesystem::path& model, const std::string& kind,
                                 const std::vector<std::string>& extra, int listen_fd) {
  std::vector<std::string> argv{backend_binary(), "serve",  "--model", model.string(),
                                "--kind",         kind,     "--listen", "127.0.0.1:0"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  child_ = std::make_unique<child_process>(
      argv, child_io{{}, dir_.file("stdout.log"), dir_.file("stderr.log"), listen_fd});
  const std::regex listening(R"(listening on 127\.0\.0\.1:(\d+))");
  const bool up = eventually(
      [&] {
        std::smatch m;
        const auto text = log();
        if (!std::regex_search(text, m, listening)) return !child_->running();
        port_ = static_cast<std::uint16_t>(std::stoi(m[1]));
        return true;
      },
      std::chrono::seconds(60));
  if (!up || port_ == 0)
    throw std::runtime_error("modelgate-backend did not start:\n" + log());
}

backend_process::~backend_process() {
  if (::testing::Test::HasFailure()) std::cerr << "--- backend log ---\n" << log() << "\n";
  child_->kill();
}

std::string backend_process::log() const {
  return dir_.read("stdout.log") + dir_.read("stderr.log");
}

}  // namespace modelgate::test_support
