#include "config/units.hpp"

#include <charconv>
#include <cmath>
#include <limits>

namespace modelgate::config {
namespace {

struct number_and_suffix {
  double value;
  std::string_view suffix;
};

std::optional<number_and_suffix> split(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.empty()) return std::nullopt;
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || !std::isfinite(value) || value < 0) return std::nullopt;
  std::string_view suffix(end, text.data() + text.size() - end);
  while (!suffix.empty() && suffix.front() == ' ') suffix.remove_prefix(1);
  return number_and_suffix{value, suffix};
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  auto parts = split(text);
  if (!parts) return std::nullopt;
  double ms_per_unit = 0;
  if (parts->suffix == "ms") ms_per_unit = 1;
  else if (parts->suffix == "s" || parts->suffix.empty()) ms_per_unit = 1000;
  else if (parts->suffix == "m") ms_per_unit = 60'000;
  else if (parts->suffix == "h") ms_per_unit = 3'600'000;
  else return std::nullopt;
  double ms = std::round(parts->value * ms_per_unit);
  if (ms > 1e15) return std::nullopt;
  return std::chrono::milliseconds(static_cast<std::int64_t>(ms));
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
  auto parts = split(text);
  if (!parts) return std::nullopt;
  double unit = 0;
  const auto s = parts->suffix;
  if (s.empty() || s == "B") unit = 1;
  else if (s == "KiB") unit = 1024.0;
  else if (s == "MiB") unit = 1024.0 * 1024;
  else if (s == "GiB") unit = 1024.0 * 1024 * 1024;
  else if (s == "KB" || s == "kB") unit = 1e3;
  else if (s == "MB") unit = 1e6;
  else if (s == "GB") unit = 1e9;
  else return std::nullopt;
  double bytes = std::round(parts->value * unit);
  if (bytes > static_cast<double>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
  return static_cast<std::uint64_t>(bytes);
}

}  // namespace modelgate::config
