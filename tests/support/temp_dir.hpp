#pragma once
// A fresh directory per test for configs, certificates and process logs.

#include <filesystem>
#include <string_view>

namespace modelgate::test_support {

/// Creates a unique directory under $TMPDIR (or /tmp) and removes it on destruction, unless
/// the environment variable MODELGATE_KEEP_TEMP is set or the current GoogleTest test failed
/// (then the path is printed so the logs can be read). Not thread-safe.
class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const { return path_; }

  /// path() / name.
  std::filesystem::path file(std::string_view name) const;

  /// Writes `content` to path() / name (replacing it) and returns the full path.
  std::filesystem::path write(std::string_view name, std::string_view content) const;

  /// The content of path() / name ("" when absent).
  std::string read(std::string_view name) const;

 private:
  std::filesystem::path path_;
};

}  // namespace modelgate::test_support
