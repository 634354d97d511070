#pragma once
// What the fake upstream does for one path: a fixed response, an SSE stream, an echo of the
// request headers, or hanging up; optionally after a delay or cut off mid-stream.

#include <chrono>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace modelgate::test_support {

struct upstream_behaviour {
  enum class kind { fixed, sse, echo_headers, hang_up };

  kind what = kind::fixed;
  unsigned status = 200;
  std::string body = "ok\n";
  std::string content_type = "text/plain";
  std::vector<std::pair<std::string, std::string>> headers;  // extra response headers
  std::chrono::milliseconds delay{0};     // sleep after reading the request, before responding
  int events = 0;                         // sse: number of events
  std::chrono::milliseconds interval{0};  // sse: pause between events
  int close_after_events = -1;            // sse: close the connection after this many events
  std::size_t event_bytes = 0;            // sse: pad each event to this size (0: no padding)

  /// The text of SSE event `i`: "id: i\ndata: event i\n\n", its data padded with 'x' up to
  /// `bytes` in all when that is larger.
  static std::string sse_event(int i, std::size_t bytes = 0) {
    std::string head = "id: " + std::to_string(i) + "\ndata: event " + std::to_string(i);
    const std::size_t bare = head.size() + 2;
    if (bytes > bare) head.append(bytes - bare, 'x');
    head += "\n\n";
    return head;
  }

  /// A complete response with Content-Length.
  static upstream_behaviour fixed(unsigned status, std::string body,
                                  std::string content_type = "text/plain") {
    upstream_behaviour b;
    b.status = status;
    b.body = std::move(body);
    b.content_type = std::move(content_type);
    return b;
  }

  /// A chunked text/event-stream of `n` events ("id: i\ndata: event i\n\n"), one per chunk,
  /// the first at once and the others `gap` apart, then the last chunk.
  static upstream_behaviour sse(int n, std::chrono::milliseconds gap) {
    upstream_behaviour b;
    b.what = kind::sse;
    b.events = n;
    b.interval = gap;
    b.content_type = "text/event-stream";
    return b;
  }

  /// 200 with a text/plain body: the request line, then one "name: value" line per header in
  /// the order received, then an empty line and the request body.
  static upstream_behaviour echo_headers() {
    upstream_behaviour b;
    b.what = kind::echo_headers;
    return b;
  }

  /// Closes the connection after reading the request, without answering.
  static upstream_behaviour hang_up() {
    upstream_behaviour b;
    b.what = kind::hang_up;
    return b;
  }

  /// sse: each event padded to `bytes` (see sse_event); with a zero gap, a fire hose.
  upstream_behaviour with_event_bytes(std::size_t bytes) const {
    auto b = *this;
    b.event_bytes = bytes;
    return b;
  }

  upstream_behaviour with_delay(std::chrono::milliseconds d) const {
    auto b = *this;
    b.delay = d;
    return b;
  }

  /// sse: close the connection (no last chunk) once `n` events were sent.
  upstream_behaviour closing_after(int n) const {
    auto b = *this;
    b.close_after_events = n;
    return b;
  }

  upstream_behaviour with_header(std::string name, std::string value) const {
    auto b = *this;
    b.headers.emplace_back(std::move(name), std::move(value));
    return b;
  }
};

}  // namespace modelgate::test_support
