#pragma once
// Token counts for the tokens-per-minute quota: the estimate reserved at admission (from the
// request body) and the real `usage.total_tokens` from a JSON response or the SSE stream of a
// streamed one. Pure parsers (Boost.JSON); bad input yields nullopt, never an exception.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace modelgate::quota {

/// The larger of `max_tokens` and `max_completion_tokens` of an OpenAI-style JSON request body,
/// when either is present as a non-negative integer.
std::optional<std::uint64_t> requested_max_tokens(std::string_view json_body);

/// The prompt's tokens, estimated as a quarter of the characters of `prompt`, `messages[].content`
/// (strings and text parts) and `input`, rounded up; 0 for anything else.
std::uint64_t prompt_token_estimate(std::string_view json_body);

/// What to reserve at admission: requested_max_tokens(body) (else `fallback`, the configured
/// estimate) plus prompt_token_estimate(body). Parses the body once.
std::uint64_t token_estimate(std::string_view json_body, std::uint64_t fallback);

/// `usage.total_tokens` of a JSON object, or prompt_tokens + completion_tokens when only those
/// are given (also accepts input_tokens/output_tokens). nullopt for anything else.
std::optional<std::uint64_t> usage_total_tokens(std::string_view json_body);

/// Follows a text/event-stream response chunk by chunk and remembers the usage of the last
/// event whose data carries one (OpenAI sends it in the final chunk before `data: [DONE]` when
/// stream_options.include_usage is set). Lines may be split anywhere across chunks; "\n",
/// "\r\n" and "\r" all end lines; multi-line `data:` fields are joined with "\n" as the SSE
/// spec says. An event longer than `max_event_bytes` is skipped, so memory stays bounded.
/// Not thread-safe: one per response.
class sse_usage_scanner {
 public:
  explicit sse_usage_scanner(std::size_t max_event_bytes = 1 << 20)
      : max_event_bytes_(max_event_bytes) {}

  /// Feeds the next piece of the response body.
  void feed(std::string_view chunk);

  /// End of stream: an event not terminated by a blank line still counts.
  void finish();

  /// The usage of the last event that had one so far.
  std::optional<std::uint64_t> total_tokens() const noexcept { return total_; }

  /// Events dispatched so far (for tests and debugging).
  std::size_t events() const noexcept { return events_; }

 private:
  void line(std::string_view l);
  void dispatch();

  std::size_t max_event_bytes_;
  std::string partial_;  // an unfinished line
  std::string data_;     // the current event's data
  bool has_data_ = false;
  bool oversized_ = false;
  bool skipping_line_ = false;  // inside a line too long to keep
  bool after_cr_ = false;  // the previous chunk ended in '\r' (a '\n' next is part of it)
  std::size_t events_ = 0;
  std::optional<std::uint64_t> total_;
};

}  // namespace modelgate::quota
