#pragma once
// Parsing of human-written durations ("250ms", "10s", "5m") and sizes ("16384", "64KiB", "8MiB").

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace modelgate::config {

/// "150ms", "10s", "1.5s", "5m", "1h" (a bare number is seconds). nullopt when malformed or negative.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

/// "4096", "64KiB", "8MiB", "1GiB" (also KB/MB/GB as powers of 1000). nullopt when malformed.
std::optional<std::uint64_t> parse_size(std::string_view text);

}  // namespace modelgate::config
