#pragma once
// The response relay: an upstream response, whose header has been read, goes to the client as it
// arrives (chunked and text/event-stream pieces are never buffered whole), through the token
// quota's usage tap and the cache's recorder. Single-threaded: runs on the exchange's worker.

#include "proxy/http/admission.hpp"
#include "proxy/http/cache_stage.hpp"
#include "proxy/http/downstream.hpp"
#include "proxy/http/upstream_pool.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <chrono>
#include <cstdint>
#include <string_view>

namespace modelgate::proxy {

using response_parser = boost::beast::http::response_parser<boost::beast::http::buffer_body>;

/// What the client asked for and how long the relay may take.
struct relay_params {
  std::string_view request_id;
  bool client_keep_alive = false;
  unsigned client_version = 11;
  bool draining = false;  // the proxy is shutting down: the connection closes after this
  std::chrono::steady_clock::time_point deadline;
};

struct relay_outcome {
  enum class end {
    complete,          // every byte went to the client
    client_gone,       // a write to the client failed
    upstream_aborted,  // the upstream closed or timed out mid-body: the client's response is cut
  } how = end::complete;
  bool keep = false;        // complete: the client connection may carry another request
  std::uint64_t bytes = 0;  // body bytes written to the client
};

/// Rewrites the header for the client (hop-by-hop fields removed, x-request-id, its HTTP
/// version, keep-alive; a body that ends at the upstream's close becomes chunked for HTTP/1.1),
/// lets `admission` and `cache` see it, then relays the body piece by piece. The lease is released
/// for reuse only after a complete keep-alive response; otherwise it closes the connection.
asio::awaitable<relay_outcome> relay_response(downstream& d, upstream_lease& lease,
                                              response_parser& rp, const relay_params& p,
                                              request_admission& admission, cache_stage& cache);

}  // namespace modelgate::proxy
