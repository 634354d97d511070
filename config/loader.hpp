#pragma once
// YAML → proxy_config. Every error names the file, line, column and the offending key.

#include "config/config.hpp"

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

namespace modelgate::config {

/// A configuration that cannot be used. what() reads "FILE:LINE:COL: key 'a.b': message".
class config_error : public std::runtime_error {
 public:
  config_error(std::string file, int line, int column, std::string key, const std::string& message);
  const std::string& file() const noexcept { return file_; }
  int line() const noexcept { return line_; }      // 1-based; 0 when unknown
  int column() const noexcept { return column_; }  // 1-based; 0 when unknown
  const std::string& key() const noexcept { return key_; }

 private:
  std::string file_;
  int line_;
  int column_;
  std::string key_;
};

/// Reads and validates `path`. Relative file paths inside resolve against its folder.
/// Throws config_error. Thread-safe (no shared state).
proxy_config load_config(const std::filesystem::path& path);

/// Same, from text; `source` names the file in errors and anchors relative paths.
proxy_config load_config_text(std::string_view yaml, const std::filesystem::path& source);

/// "host:port" or "[v6]:port"; throws std::invalid_argument with a reason.
host_port parse_host_port(std::string_view text, bool allow_port_zero);

}  // namespace modelgate::config
