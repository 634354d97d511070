#pragma once
// RESP for the Redis store: commands are written as arrays of bulk strings; replies are parsed
// by hiredis's reader (redisReader) into an owned value. Pure: bytes in, values out.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct redisReader;

namespace modelgate::quota {

/// One Redis reply, owned (hiredis's reply object is freed once converted).
struct redis_reply {
  enum class kind { nil, integer, string, status, error, array, other };
  kind type = kind::nil;
  long long integer = 0;
  std::string str;  // string, status and error text
  std::vector<redis_reply> elements;

  bool is_error() const noexcept { return type == kind::error; }
  /// An error reply whose text starts with `prefix` ("NOSCRIPT", "WRONGTYPE", ...).
  bool is_error(std::string_view prefix) const noexcept {
    return type == kind::error && std::string_view(str).starts_with(prefix);
  }
};

/// Appends the RESP encoding of a command (array of bulk strings) to `out`.
void encode_command(std::span<const std::string_view> args, std::string& out);

/// Incremental reply parser over hiredis's redisReader. Not thread-safe; one per connection.
class resp_reader {
 public:
  resp_reader();
  ~resp_reader();
  resp_reader(const resp_reader&) = delete;
  resp_reader& operator=(const resp_reader&) = delete;

  /// Adds received bytes. False when the reader is in a protocol error state.
  bool feed(std::string_view bytes);

  /// The next complete reply, or nullopt when more bytes are needed. Sets `failed` on a
  /// protocol error (the connection must then be dropped).
  std::optional<redis_reply> next(bool& failed);

  /// Forgets buffered bytes (a new connection starts clean).
  void reset();

 private:
  struct deleter {
    void operator()(redisReader* r) const noexcept;
  };
  std::unique_ptr<redisReader, deleter> reader_;
};

}  // namespace modelgate::quota
