#include "backend/model/io_config.hpp"

#include <yaml-cpp/yaml.h>

namespace modelgate::backend {
namespace {

std::optional<tensor_spec> read_spec(const YAML::Node& n, const char* key, bool need_shape) {
  if (!n[key]) {
    if (need_shape) throw std::runtime_error(std::string("missing key '") + key + "'");
    return std::nullopt;
  }
  tensor_spec t;
  t.name = n[key]["name"] ? n[key]["name"].as<std::string>() : key;
  if (n[key]["shape"]) {
    t.shape = n[key]["shape"].as<std::vector<std::int64_t>>();
    if (t.shape.empty()) throw std::runtime_error(std::string(key) + ".shape is empty");
    t.shape[0] = -1;
    for (std::size_t i = 1; i < t.shape.size(); ++i)
      if (t.shape[i] < 1) throw std::runtime_error(std::string(key) + ".shape needs sizes >= 1");
  } else if (need_shape) {
    throw std::runtime_error(std::string("missing key '") + key + ".shape'");
  }
  return t;
}

}  // namespace

io_override load_io_config(const std::filesystem::path& path) {
  try {
    auto root = YAML::LoadFile(path.string());
    io_override io;
    io.input = read_spec(root, "input", true);
    io.output = read_spec(root, "output", false);
    return io;
  } catch (const std::exception& e) {
    throw std::runtime_error(path.string() + ": " + e.what());
  }
}

}  // namespace modelgate::backend
