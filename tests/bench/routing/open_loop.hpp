#pragma once
// Open-loop load for the routing benchmark: requests are sent at planned times whatever happened
// to earlier ones (no coordinated omission), each on an idle keep-alive connection or a new one,
// and latency counts from the planned time, so time a request spent waiting for the generator
// itself is charged to the system under test rather than hidden.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace modelgate::bench {

struct planned_request {
  std::chrono::microseconds at{};  // offset from the start of the run
  unsigned cost_ms = 10;           // sent as x-cost-ms
  std::string key;                 // sent as x-session-id
};

struct request_outcome {
  std::chrono::microseconds done{};   // completion, offset from the start of the run
  std::chrono::microseconds latency{};
  unsigned status = 0;                // 0: no response (connect failure, timeout, reset)
  std::string backend;                // response body: the backend's name
};

struct load_options {
  std::uint16_t port = 0;         // on 127.0.0.1
  std::string target = "/v1/infer";
  std::chrono::milliseconds timeout{10000};  // per request; past it the request counts as failed
  std::size_t max_connections = 2000;        // beyond it a request fails at once
};

/// Runs `plan` (sorted by `at`) against the port and returns one outcome per planned request, in
/// plan order. Blocks until every request finished or timed out. Single-threaded.
std::vector<request_outcome> run_open_loop(const std::vector<planned_request>& plan,
                                           const load_options& opts);

}  // namespace modelgate::bench
