#include "proxy/health/load_report.hpp"

#include <charconv>
#include <cmath>

namespace modelgate::proxy {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::optional<double> number(std::string_view s) {
  s = trim(s);
  if (s == "+Inf" || s == "-Inf" || s == "NaN") return std::nullopt;
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

// Skips a `{...}` label set starting at s[0] == '{', honouring quoted values with escapes.
// Returns the position after '}', or npos when it is unterminated.
std::size_t skip_labels(std::string_view s) {
  bool quoted = false;
  for (std::size_t i = 1; i < s.size(); ++i) {
    char c = s[i];
    if (quoted) {
      if (c == '\\') ++i;
      else if (c == '"') quoted = false;
    } else if (c == '"') {
      quoted = true;
    } else if (c == '}') {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

}  // namespace

std::optional<double> orca_queue_depth(std::string_view header) {
  header = trim(header);
  if (header.starts_with("TEXT ")) header.remove_prefix(5);
  constexpr std::string_view key = "named_metrics.queue_depth";
  std::optional<double> found;
  while (!header.empty()) {
    auto comma = header.find(',');
    auto item = trim(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    auto eq = item.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    if (trim(item.substr(0, eq)) != key) continue;
    found = number(item.substr(eq + 1));
    if (!found || *found < 0) return std::nullopt;
  }
  return found;
}

std::optional<double> prometheus_sum(std::string_view page, std::string_view metric) {
  std::optional<double> sum;
  while (!page.empty()) {
    auto nl = page.find('\n');
    auto line = trim(page.substr(0, nl));
    page = nl == std::string_view::npos ? std::string_view() : page.substr(nl + 1);
    if (line.empty() || line.front() == '#') continue;
    if (!line.starts_with(metric)) continue;
    auto rest = line.substr(metric.size());
    if (rest.empty()) return std::nullopt;
    if (rest.front() == '{') {
      auto end = skip_labels(rest);
      if (end == std::string_view::npos) return std::nullopt;
      rest = rest.substr(end);
    } else if (rest.front() != ' ' && rest.front() != '\t') {
      continue;  // a longer name that starts with `metric`
    }
    rest = trim(rest);
    // An optional timestamp follows the value.
    auto space = rest.find_first_of(" \t");
    auto v = number(rest.substr(0, space));
    if (!v) return std::nullopt;
    sum = sum.value_or(0) + *v;
  }
  return sum;
}

}  // namespace modelgate::proxy
