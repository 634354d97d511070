// OpenAI-style completions: the request joins the continuous decode batch; tokens come back
// through a channel from the decode thread and go out whole or as one SSE event each. A client
// that disconnects cancels its sequence, which then leaves the batch before the next step.

#include "backend/api/handlers.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/this_coro.hpp>

#include <chrono>
#include <random>

namespace modelgate::backend {
namespace {

using namespace asio::experimental::awaitable_operators;
using token_channel =
    asio::experimental::concurrent_channel<void(boost::system::error_code, token_event)>;

const char* finish_name(finish_reason f) { return f == finish_reason::length ? "length" : "stop"; }

std::string new_id(openai::api_kind kind) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{}-{:016x}", kind == openai::api_kind::chat ? "chatcmpl" : "cmpl", rng());
}

struct collected {
  std::string text;
  token_event last;
};

// Non-stream: gather every token until the last one.
asio::awaitable<collected> collect(token_channel& ch) {
  collected out;
  for (;;) {
    auto [ec, e] = co_await ch.async_receive(use_tuple);
    if (ec) co_return out;
    out.text += static_cast<char>(e.token);
    out.last = e;
    if (e.finish != finish_reason::none) co_return out;
  }
}

// Stream: one event per token as soon as it arrives; false when the client is gone.
asio::awaitable<bool> relay(connection& c, token_channel& ch, openai::api_kind kind,
                            const openai::response_id& rid) {
  if (!co_await c.start_events()) co_return false;
  for (;;) {
    auto [ec, e] = co_await ch.async_receive(use_tuple);
    if (ec) co_return false;
    const bool last = e.finish != finish_reason::none;
    std::optional<openai::usage> u;
    if (last) u = openai::usage{e.prompt_tokens, e.completion_tokens};
    const char text[1] = {static_cast<char>(e.token)};
    const auto payload = openai::chunk(kind, rid, std::string_view(text, 1),
                                       last ? finish_name(e.finish) : nullptr, u);
    if (!co_await c.event(payload)) co_return false;
    if (last) break;
  }
  co_return co_await c.event("[DONE]") && co_await c.finish_events();
}

}  // namespace

asio::awaitable<outcome> handle_completion(connection& c, const request& req,
                                           openai::api_kind kind) {
  auto& ctx = c.ctx();
  auto parsed = openai::parse(req.body(), kind);
  if (auto* err = std::get_if<kserve::api_error>(&parsed)) {
    const reply r{err->status, openai::error_body(err->message, "invalid_request_error")};
    co_await c.send(r, req.keep_alive());
    co_return outcome{err->status, req.keep_alive()};
  }
  auto& q = std::get<openai::completion_request>(parsed);
  auto ex = co_await asio::this_coro::executor;
  // Room for every token: the decode thread never blocks on a slow client.
  auto ch = std::make_shared<token_channel>(ex, q.max_tokens + 1);
  generation g;
  g.prompt.assign(q.prompt.begin(), q.prompt.end());
  for (auto& t : g.prompt) t &= 0xff;  // bytes, whatever the sign of char
  g.max_tokens = q.max_tokens;
  g.temperature = q.temperature;
  g.seed = q.seed ? *q.seed : std::random_device{}();
  g.emit = [ch](const token_event& e) { ch->try_send(boost::system::error_code{}, e); };
  auto cancelled = g.cancelled;
  if (auto pushed = ctx.text->submit(std::move(g)); pushed != push_result::queued) {
    auto r = unavailable(c, pushed, true);
    co_await c.send(r, false);
    co_return outcome{r.status, false};
  }
  c.stream().expires_never();
  const openai::response_id rid{
      new_id(kind), ctx.name,
      std::chrono::duration_cast<std::chrono::seconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count()};

  if (q.stream) {
    auto result = co_await (relay(c, *ch, kind, rid) || c.wait_disconnect());
    const bool done = result.index() == 0 && std::get<0>(result);
    if (!done) cancelled->store(true);
    // 499: the client closed the request (nginx's convention), for the metrics.
    co_return outcome{done ? 200u : 499u, done && req.keep_alive() && !c.input_discarded()};
  }
  auto result = co_await (collect(*ch) || c.wait_disconnect());
  if (result.index() == 1) {
    cancelled->store(true);
    co_return outcome{499, false};
  }
  const auto& got = std::get<0>(result);
  reply r{200, openai::full_response(kind, rid, got.text, finish_name(got.last.finish),
                                     {got.last.prompt_tokens, got.last.completion_tokens})};
  const bool keep = req.keep_alive() && !c.input_discarded() && !ctx.draining.load();
  co_await c.send(r, keep);
  co_return outcome{200, keep};
}

}  // namespace modelgate::backend
