// Costs of the per-request pure steps: parsing a typical model request, rewriting its headers for
// the upstream, matching a route. Numbers go to docs/benchmarks.md with the command that made them.

#include "proxy/http/header_rewrite.hpp"
#include "proxy/routing/route_table.hpp"

#include <benchmark/benchmark.h>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <string>

namespace http = boost::beast::http;
using namespace modelgate::proxy;

namespace {

const std::string request_bytes =
    "POST /v1/chat/completions HTTP/1.1\r\n"
    "Host: api.example.com\r\n"
    "User-Agent: openai-python/1.30.0\r\n"
    "Authorization: Bearer sk-test-0123456789abcdef0123456789abcdef\r\n"
    "Content-Type: application/json\r\n"
    "Accept: text/event-stream\r\n"
    "X-Session-Id: 7f9c2ba4e88f827d616045507605853e\r\n"
    "Content-Length: 130\r\n"
    "\r\n"
    "{\"model\":\"llama-3-8b\",\"stream\":true,\"temperature\":0,\"messages\":[{\"role\":\"user\","
    "\"content\":\"Write a haiku about reverse proxies.\"}]}";

void parse_request(benchmark::State& state) {
  for (auto _ : state) {
    http::request_parser<http::string_body> parser;
    parser.eager(true);
    boost::system::error_code ec;
    parser.put(boost::asio::buffer(request_bytes), ec);
    if (ec || !parser.is_done()) state.SkipWithError("the request did not parse completely");
    benchmark::DoNotOptimize(parser.is_done());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * request_bytes.size()));
}
BENCHMARK(parse_request);

void rewrite_headers(benchmark::State& state) {
  http::request_parser<http::string_body> parser;
  parser.eager(true);
  boost::system::error_code ec;
  parser.put(boost::asio::buffer(request_bytes), ec);
  const auto original = parser.get();
  for (auto _ : state) {
    auto req = original;
    prepare_upstream_request(req, forward_context{"10.1.2.3", true, "0123456789abcdef0123456789abcdef"});
    benchmark::DoNotOptimize(req);
  }
}
BENCHMARK(rewrite_headers);

void match_route(benchmark::State& state) {
  std::vector<modelgate::config::route> routes(8);
  for (std::size_t i = 0; i < routes.size(); ++i) routes[i].path_prefix = "/v" + std::to_string(i + 2) + "/";
  routes.back().path_prefix = "/v1/";
  route_table table(routes);
  for (auto _ : state) benchmark::DoNotOptimize(table.match("/v1/chat/completions?x=1"));
}
BENCHMARK(match_route);

}  // namespace
