// Costs of the response cache on the request path: a store lookup that hits and one that misses
// (keys already made), and making the key itself (JSON parse, canonical JSON, SHA-256) for a
// short and a long chat request. Numbers go to docs/benchmarks.md.

#include "proxy/cache/cache_entry.hpp"
#include "proxy/cache/cache_key.hpp"
#include "proxy/cache/lru_store.hpp"
#include "proxy/cache/request_body.hpp"

#include <benchmark/benchmark.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

using namespace modelgate::cache;

namespace {

constexpr std::size_t stored = 10'000;  // entries in the store
constexpr std::size_t key_count = 8192;  // keys cycled through; a power of two

const time_point t0 = time_point{} + std::chrono::hours(1000);

cache_key key_of(const std::string& path) {
  key_input in;
  in.method = "POST";
  in.route = "chat";
  in.path = path;
  return make_key(in);
}

std::vector<cache_key> keys(const std::string& prefix) {
  std::vector<cache_key> k;
  for (std::size_t i = 0; i < key_count; ++i) k.push_back(key_of(prefix + std::to_string(i)));
  return k;
}

// The default store (256 MiB, 16 shards) holding 10,000 answers of 1 KiB.
std::unique_ptr<lru_store> filled_store() {
  auto store = std::make_unique<lru_store>(store_settings{});
  for (std::size_t i = 0; i < stored; ++i) {
    auto e = std::make_shared<cache_entry>();
    e->body.assign(1024, 'x');
    e->piece_ends.push_back(e->body.size());
    e->route = "chat";
    e->stored_at = t0;
    e->expires_at = t0 + std::chrono::hours(1);
    store->insert(key_of("/v1/chat/completions/" + std::to_string(i)), std::move(e), t0);
  }
  return store;
}

void cache_lookup_hit(benchmark::State& state) {
  auto store = filled_store();
  const auto k = keys("/v1/chat/completions/");  // the first 8192 of the 10,000 stored
  std::size_t i = 0;
  for (auto _ : state) {
    auto e = store->lookup(k[i++ & (key_count - 1)], t0 + std::chrono::seconds(1));
    if (!e) state.SkipWithError("expected a hit");
    benchmark::DoNotOptimize(e);
  }
}
BENCHMARK(cache_lookup_hit);

void cache_lookup_miss(benchmark::State& state) {
  auto store = filled_store();
  const auto k = keys("/v1/completions/");  // never stored
  std::size_t i = 0;
  for (auto _ : state) {
    auto e = store->lookup(k[i++ & (key_count - 1)], t0 + std::chrono::seconds(1));
    if (e) state.SkipWithError("expected a miss");
    benchmark::DoNotOptimize(e);
  }
}
BENCHMARK(cache_lookup_miss);

// A chat request whose user message is `prompt_bytes` long, members in a non-canonical order.
std::string chat_body(std::size_t prompt_bytes) {
  return R"({"stream":false,"model":"llama-3-8b","temperature":0,"max_tokens":256,)"
         R"("messages":[{"role":"system","content":"You are terse."},)"
         R"({"content":")" + std::string(prompt_bytes, 'a') + R"(","role":"user"}]})";
}

key_input chat_input(const request_body& body) {
  key_input in;
  in.method = "POST";
  in.route = "chat";
  in.path = "/v1/chat/completions";
  in.body = &body;
  in.api_key_id = "team-a";
  return in;
}

// What a cacheable request pays before the lookup: parse the body, canonicalise, hash.
void cache_key_parse_and_make(benchmark::State& state) {
  const auto raw = chat_body(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    auto body = request_body::parse(raw);
    benchmark::DoNotOptimize(make_key(chat_input(body)));
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * raw.size()));
  state.counters["body_bytes"] = static_cast<double>(raw.size());
}
BENCHMARK(cache_key_parse_and_make)->Arg(40)->Arg(4096);

// The same without the parse (the body is parsed once per request and shared with routing).
void cache_key_make(benchmark::State& state) {
  const auto raw = chat_body(static_cast<std::size_t>(state.range(0)));
  const auto body = request_body::parse(raw);
  for (auto _ : state) benchmark::DoNotOptimize(make_key(chat_input(body)));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * raw.size()));
}
BENCHMARK(cache_key_make)->Arg(40)->Arg(4096);

}  // namespace
