#pragma once
// A YAML walker that knows the file and the dotted key path, so every validation error can name
// file, line, column and key. Used by the config loaders only.

#include "config/config.hpp"
#include "config/loader.hpp"
#include "config/units.hpp"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <fstream>
#include <initializer_list>
#include <vector>
#include <string>
#include <string_view>

namespace modelgate::config::detail {

// Walks the YAML tree; knows the file name and the dotted key path for error messages.
class reader {
 public:
  reader(std::filesystem::path source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const YAML::Node& at, const std::string& key, const std::string& msg) const {
    auto mark = at.Mark();
    int line = mark.line >= 0 ? mark.line + 1 : 0;
    int col = mark.column >= 0 ? mark.column + 1 : 0;
    throw config_error(source_.string(), line, col, key, msg);
  }

  // Rejects keys outside `allowed`, pointing at the key itself.
  void expect_map(const YAML::Node& node, const std::string& where,
                  std::initializer_list<std::string_view> allowed) const {
    if (!node.IsMap()) fail(node, where, "expected a mapping");
    for (const auto& kv : node) {
      auto name = kv.first.as<std::string>();
      bool known = false;
      for (auto a : allowed) known = known || a == name;
      if (!known) {
        std::string list;
        for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        fail(kv.first, join(where, name), "unknown key (expected one of: " + list + ")");
      }
    }
  }

  static std::string join(const std::string& where, std::string_view key) {
    return where.empty() ? std::string(key) : where + "." + std::string(key);
  }

  std::string scalar(const YAML::Node& node, const std::string& key) const {
    if (!node.IsScalar()) fail(node, key, "expected a scalar value");
    return node.Scalar();
  }

  std::string string(const YAML::Node& parent, std::string_view name, const std::string& where,
                     std::optional<std::string> fallback = std::nullopt) const {
    auto key = join(where, name);
    auto node = parent[std::string(name)];
    if (!node) {
      if (fallback) return *fallback;
      fail(parent, key, "missing required key");
    }
    return scalar(node, key);
  }

  template <class Int>
  Int integer(const YAML::Node& parent, std::string_view name, const std::string& where,
              Int fallback, Int min, Int max) const {
    auto key = join(where, name);
    auto node = parent[std::string(name)];
    if (!node) return fallback;
    auto text = scalar(node, key);
    long long value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size())
      fail(node, key, "expected an integer, got '" + text + "'");
    if (value < static_cast<long long>(min) || value > static_cast<long long>(max))
      fail(node, key,
           "must be between " + std::to_string(min) + " and " + std::to_string(max));
    return static_cast<Int>(value);
  }

  duration dur(const YAML::Node& parent, std::string_view name, const std::string& where,
               duration fallback) const {
    auto key = join(where, name);
    auto node = parent[std::string(name)];
    if (!node) return fallback;
    auto text = scalar(node, key);
    auto value = parse_duration(text);
    if (!value) fail(node, key, "expected a duration like 250ms, 10s or 5m, got '" + text + "'");
    if (value->count() <= 0) fail(node, key, "must be greater than zero");
    return *value;
  }

  std::size_t size(const YAML::Node& parent, std::string_view name, const std::string& where,
                   std::size_t fallback) const {
    auto key = join(where, name);
    auto node = parent[std::string(name)];
    if (!node) return fallback;
    auto text = scalar(node, key);
    auto value = parse_size(text);
    if (!value) fail(node, key, "expected a size like 16384, 64KiB or 8MiB, got '" + text + "'");
    if (*value == 0) fail(node, key, "must be greater than zero");
    return static_cast<std::size_t>(*value);
  }

  host_port address(const YAML::Node& parent, const std::string& where, bool allow_port_zero) const {
    auto key = join(where, "address");
    auto text = string(parent, "address", where);
    try {
      return parse_host_port(text, allow_port_zero);
    } catch (const std::invalid_argument& e) {
      fail(parent["address"], key, e.what());
    }
  }

  // A file path relative to the config's folder that must exist and be readable.
  std::filesystem::path file(const YAML::Node& parent, std::string_view name,
                             const std::string& where) const {
    auto key = join(where, name);
    auto text = string(parent, name, where);
    std::filesystem::path p(text);
    if (p.is_relative()) p = source_.parent_path() / p;
    std::ifstream probe(p);
    if (!probe) fail(parent[std::string(name)], key, "cannot read file " + p.string());
    return p;
  }

  bool boolean(const YAML::Node& parent, std::string_view name, const std::string& where,
               bool fallback) const {
    auto node = parent[std::string(name)];
    if (!node) return fallback;
    auto key = join(where, name);
    auto text = scalar(node, key);
    if (text == "true" || text == "yes" || text == "on") return true;
    if (text == "false" || text == "no" || text == "off") return false;
    fail(node, key, "expected true or false, got '" + text + "'");
  }

  double real(const YAML::Node& parent, std::string_view name, const std::string& where,
              double fallback, double min, double max) const {
    auto node = parent[std::string(name)];
    if (!node) return fallback;
    auto key = join(where, name);
    auto text = scalar(node, key);
    double value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size())
      fail(node, key, "expected a number, got '" + text + "'");
    if (value < min || value > max)
      fail(node, key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
    return value;
  }

  /// A scalar or a list of scalars.
  std::vector<std::string> strings(const YAML::Node& parent, std::string_view name,
                                   const std::string& where) const {
    std::vector<std::string> out;
    auto node = parent[std::string(name)];
    if (!node) return out;
    auto key = join(where, name);
    if (node.IsScalar()) {
      out.push_back(node.Scalar());
      return out;
    }
    if (!node.IsSequence()) fail(node, key, "expected a value or a list of values");
    for (std::size_t i = 0; i < node.size(); ++i)
      out.push_back(scalar(node[i], key + "[" + std::to_string(i) + "]"));
    return out;
  }

  const std::filesystem::path& source() const { return source_; }

 private:
  std::filesystem::path source_;
};

}  // namespace modelgate::config::detail
