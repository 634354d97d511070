#include "backend_process.hpp"

#include "tests/support/wait.hpp"

#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <mutex>
#include <regex>

namespace modelgate::test_support {

std::string backend_binary() { return MODELGATE_BACKEND_BIN; }

std::filesystem::path demo_model(const std::string& kind, const std::vector<std::string>& extra) {
  static std::mutex m;
  static std::map<std::string, std::filesystem::path> made;
  static temp_dir dir;  // lives until the test binary exits
  std::lock_guard lock(m);
  std::string key = kind;
  for (const auto& e : extra) key += " " + e;
  if (auto it = made.find(key); it != made.end()) return it->second;
  auto out = dir.file(kind + std::to_string(made.size()) + ".pt");
  std::vector<std::string> argv{backend_binary(), "make-model", "--kind", kind,
                                "--out",          out.string(), "--seed", "1"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto r = run_command(argv, dir.path(), {}, std::chrono::seconds(120));
  if (r.exit_code != 0)
    throw std::runtime_error("make-model failed: " + r.out + r.err);
  made[key] = out;
  return out;
}

backend_process::backend_process(const std::filesystem::path& model, const std::string& kind,
                                 const std::vector<std::string>& extra) {
  std::vector<std::string> argv{backend_binary(), "serve",  "--model", model.string(),
                                "--kind",         kind,     "--listen", "127.0.0.1:0"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  child_ = std::make_unique<child_process>(
      argv, child_io{{}, dir_.file("stdout.log"), dir_.file("stderr.log")});
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
