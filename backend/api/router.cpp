// Routing, health, metadata, metrics and the KServe v2 infer endpoint.

#include "backend/api/handlers.hpp"
#include "backend/api/kserve.hpp"
#include "metrics/exposition.hpp"

#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/this_coro.hpp>
#include <fmt/format.h>

#include <cassert>
#include <memory>

namespace modelgate::backend {
namespace {

reply json_reply(unsigned status, std::string body) { return reply{status, std::move(body)}; }

reply kserve_error(unsigned status, std::string_view message) {
  return json_reply(status, kserve::error_body(message));
}

struct job_outcome {
  push_result pushed = push_result::queued;
  infer_result result;
};

using result_channel =
    asio::experimental::concurrent_channel<void(boost::system::error_code, infer_result)>;

// Queues a job (taking `input`) and waits, without blocking the I/O thread, until a worker
// thread has run it; the result comes back through a channel. GCC 12 can destroy temporaries
// of a co_await full-expression twice (a crash on the first infer request, heap corruption
// after two 400s), so in this folder no object with a destructor is a temporary in a co_await
// expression: name it first.
asio::awaitable<job_outcome> run_job(tensor_worker& w, std::vector<float>& input, std::size_t rows) {
  auto ch = std::make_shared<result_channel>(co_await asio::this_coro::executor, 1);
  infer_job job;
  job.input = std::move(input);
  job.rows = rows;
  job.done = [ch](infer_result r) { ch->try_send(boost::system::error_code{}, std::move(r)); };
  job_outcome out;
  out.pushed = w.submit(std::move(job));
  if (out.pushed != push_result::queued) co_return out;
  auto [ec, r] = co_await ch->async_receive(use_tuple);
  if (ec) r.error = "the result was lost: " + ec.message();
  out.result = std::move(r);
  co_return out;
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

}  // namespace

reply unavailable(connection& c, push_result why, bool openai_shape) {
  assert(why == push_result::full || why == push_result::closed);
  const bool full = why == push_result::full;
  c.ctx().metrics->rejected(full ? "queue_full" : "stopping");
  const char* msg = full ? "the queue is full, retry later" : "the server is shutting down";
  reply r{503, openai_shape ? openai::error_body(msg, "server_overloaded") : kserve::error_body(msg)};
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

asio::awaitable<outcome> handle_infer(connection& c, const request& req) {
  auto& ctx = c.ctx();
  if (ctx.kind != model_kind::classifier) {
    const auto r =
        kserve_error(400, "model '" + ctx.name + "' generates text: use /v1/completions");
    co_await c.send(r, req.keep_alive());
    co_return outcome{400, req.keep_alive()};
  }
  auto parsed = kserve::parse_infer(req.body(), ctx.model->input());
  if (auto* err = std::get_if<kserve::api_error>(&parsed)) {
    const auto r = kserve_error(err->status, err->message);
    co_await c.send(r, req.keep_alive());
    co_return outcome{err->status, req.keep_alive()};
  }
  auto& in = std::get<kserve::infer_request>(parsed);
  auto done = co_await run_job(*ctx.tensors, in.data, in.rows);
  reply r;
  if (done.pushed == push_result::too_large) {
    r = kserve_error(413, fmt::format("{} rows are more than the queue holds ({} rows, "
                                      "--max-queue); send fewer rows per request",
                                      in.rows, ctx.tensors->config().max_queue));
  } else if (done.pushed != push_result::queued) {
    r = unavailable(c, done.pushed, false);
  } else if (!done.result.error.empty()) {
    r = kserve_error(500, "inference failed: " + done.result.error);
  } else {
    r = json_reply(200, kserve::infer_response(ctx.name, in.id, ctx.model->output(), in.rows,
                                               done.result.output));
  }
  const bool keep = req.keep_alive() && !ctx.draining.load();
  co_await c.send(r, keep);
  co_return outcome{r.status, keep};
}

asio::awaitable<outcome> handle_request(connection& c, const request& req, std::string& endpoint) {
  auto& ctx = c.ctx();
  std::string_view path = req.target();
  path = path.substr(0, path.find('?'));
  const bool get = req.method() == http::verb::get;
  const bool post = req.method() == http::verb::post;
  const bool keep = req.keep_alive();
  const std::string model_prefix = "/v2/models/" + ctx.name;

  reply r;
  if (path == "/metrics" && get) {
    endpoint = "metrics";
    r = reply{200, ctx.metrics->render(ctx.waiting(), ctx.running(), !ctx.draining.load()),
              modelgate::metrics::content_type};
  } else if (path == "/v2/health/live" && get) {
    endpoint = "health";
    r = json_reply(200, R"({"live":true})");
  } else if (path == "/v2/health/ready" && get) {
    endpoint = "health";
    r = ctx.draining.load() ? json_reply(503, R"({"ready":false})")
                            : json_reply(200, R"({"ready":true})");
  } else if (path == "/v2" && get) {
    endpoint = "metadata";
    r = json_reply(200, R"({"name":"modelgate-backend","version":"0.1.0","extensions":[]})");
  } else if (starts_with(path, "/v2/models/")) {
    endpoint = "metadata";
    std::string_view rest = path.substr(11);
    const auto slash = rest.find('/');
    const std::string_view name = rest.substr(0, slash);
    const std::string_view verb = slash == rest.npos ? "" : rest.substr(slash);
    if (name != ctx.name) {
      r = kserve_error(
          404, fmt::format("unknown model '{}'; this backend serves '{}'", name, ctx.name));
    } else if (verb == "/infer" && post) {
      endpoint = "infer";
      co_return co_await handle_infer(c, req);
    } else if (verb == "/ready" && get) {
      r = json_reply(ctx.draining.load() ? 503 : 200,
                     fmt::format(R"({{"name":"{}","ready":{}}})", ctx.name,
                                 ctx.draining.load() ? "false" : "true"));
    } else if (verb.empty() && get) {
      r = ctx.model ? json_reply(200, kserve::model_metadata(ctx.name, ctx.model->input(),
                                                             ctx.model->output()))
                    : json_reply(200, fmt::format(R"({{"name":"{}","platform":"pytorch_torchscript",)"
                                                  R"("inputs":[],"outputs":[]}})",
                                                  ctx.name));
    } else {
      r = kserve_error(404, fmt::format("no such endpoint: {}", path));
    }
  } else if (path == "/v1/models" && get) {
    endpoint = "models";
    r = json_reply(200, openai::model_list(ctx.name, ctx.created));
  } else if ((path == "/v1/completions" || path == "/v1/chat/completions") && post) {
    const bool chat = path == "/v1/chat/completions";
    endpoint = chat ? "chat_completions" : "completions";
    if (ctx.kind != model_kind::textgen) {
      r = json_reply(404, openai::error_body("model '" + ctx.name + "' is not a text model",
                                             "invalid_request_error"));
    } else {
      co_return co_await handle_completion(
          c, req, chat ? openai::api_kind::chat : openai::api_kind::completion);
    }
  } else {
    endpoint = "other";
    r = kserve_error(404, fmt::format("no such endpoint: {} {}",
                                      std::string_view(req.method_string()), path));
  }
  co_await c.send(r, keep);
  co_return outcome{r.status, keep};
}

}  // namespace modelgate::backend
