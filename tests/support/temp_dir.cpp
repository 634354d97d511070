#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <system_error>

#include "tests/support/child_process.hpp"

namespace modelgate::test_support {

temp_dir::temp_dir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/modelgate-it-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr)
    throw std::system_error(errno, std::generic_category(), "mkdtemp " + tmpl);
  path_ = tmpl;
}

temp_dir::~temp_dir() {
  const bool failed = ::testing::UnitTest::GetInstance()->current_test_info() != nullptr &&
                      ::testing::Test::HasFailure();
  if (std::getenv("MODELGATE_KEEP_TEMP") != nullptr || failed) {
    std::cerr << "[temp_dir] kept " << path_.string() << "\n";
    return;
  }
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::filesystem::path temp_dir::file(std::string_view name) const { return path_ / name; }

std::filesystem::path temp_dir::write(std::string_view name, std::string_view content) const {
  auto p = file(name);
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!out) throw std::runtime_error("cannot write " + p.string());
  return p;
}

std::string temp_dir::read(std::string_view name) const { return read_file(file(name)); }

}  // namespace modelgate::test_support
