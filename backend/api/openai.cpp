#include "backend/api/openai.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

namespace modelgate::backend::openai {
namespace {

namespace json = boost::json;

kserve::api_error bad(std::string message) { return kserve::api_error{400, std::move(message)}; }

json::object usage_json(const usage& u) {
  return json::object{{"prompt_tokens", u.prompt_tokens},
                      {"completion_tokens", u.completion_tokens},
                      {"total_tokens", u.prompt_tokens + u.completion_tokens}};
}

json::value finish_json(const char* finish) {
  return finish ? json::value(finish) : json::value(nullptr);
}

}  // namespace

std::variant<completion_request, kserve::api_error> parse(std::string_view body, api_kind kind) {
  boost::system::error_code ec;
  auto doc = json::parse(body, ec);
  if (ec) return bad("malformed JSON: " + ec.message());
  const auto* o = doc.if_object();
  if (!o) return bad("the request body must be a JSON object");
  completion_request r;
  r.kind = kind;
  if (kind == api_kind::completion) {
    const auto* p = o->if_contains("prompt");
    if (p && p->is_array() && p->get_array().size() == 1) p = &p->get_array()[0];
    if (!p || !p->is_string()) return bad("'prompt' must be a string");
    r.prompt = std::string(p->get_string());
  } else {
    const auto* m = o->if_contains("messages");
    if (!m || !m->is_array() || m->get_array().empty())
      return bad("'messages' must be a non-empty array");
    for (const auto& msg : m->get_array()) {
      const auto* mo = msg.if_object();
      const json::value* role = mo ? mo->if_contains("role") : nullptr;
      const json::value* content = mo ? mo->if_contains("content") : nullptr;
      if (!role || !role->is_string() || !content || !content->is_string())
        return bad("each message needs string 'role' and 'content'");
      r.prompt += std::string(role->get_string()) + ": " + std::string(content->get_string()) + "\n";
    }
    r.prompt += "assistant:";
  }
  if (r.prompt.size() > max_prompt_bytes)
    return bad(fmt::format("the prompt is longer than {} bytes", max_prompt_bytes));
  if (const auto* v = o->if_contains("max_tokens"); v && !v->is_null()) {
    if (!v->is_int64() || v->get_int64() < 1 ||
        static_cast<std::size_t>(v->get_int64()) > max_completion_tokens)
      return bad("'max_tokens' must be an integer from 1 to " +
                 std::to_string(max_completion_tokens));
    r.max_tokens = static_cast<std::size_t>(v->get_int64());
  }
  if (const auto* v = o->if_contains("temperature"); v && !v->is_null()) {
    if (!v->is_number() || v->to_number<double>() < 0 || v->to_number<double>() > 5)
      return bad("'temperature' must be a number from 0 to 5");
    r.temperature = v->to_number<double>();
  }
  if (const auto* v = o->if_contains("seed"); v && !v->is_null()) {
    if (!v->is_int64() && !v->is_uint64()) return bad("'seed' must be an integer");
    r.seed = v->is_uint64() ? v->get_uint64() : static_cast<std::uint64_t>(v->get_int64());
  }
  if (const auto* v = o->if_contains("stream"); v && !v->is_null()) {
    if (!v->is_bool()) return bad("'stream' must be true or false");
    r.stream = v->get_bool();
  }
  return r;
}

std::string full_response(api_kind kind, const response_id& r, std::string_view text,
                          const char* finish_reason, const usage& u) {
  json::object choice{{"index", 0}, {"finish_reason", finish_json(finish_reason)}};
  if (kind == api_kind::chat)
    choice["message"] = json::object{{"role", "assistant"}, {"content", text}};
  else
    choice["text"] = text;
  json::object o{{"id", r.id},
                 {"object", kind == api_kind::chat ? "chat.completion" : "text_completion"},
                 {"created", r.created},
                 {"model", r.model},
                 {"choices", json::array{choice}},
                 {"usage", usage_json(u)}};
  return json::serialize(o);
}

std::string chunk(api_kind kind, const response_id& r, std::string_view text,
                  const char* finish_reason, const std::optional<usage>& u) {
  json::object choice{{"index", 0}, {"finish_reason", finish_json(finish_reason)}};
  if (kind == api_kind::chat)
    choice["delta"] = json::object{{"content", text}};
  else
    choice["text"] = text;
  json::object o{{"id", r.id},
                 {"object", kind == api_kind::chat ? "chat.completion.chunk" : "text_completion"},
                 {"created", r.created},
                 {"model", r.model},
                 {"choices", json::array{choice}}};
  if (u) o["usage"] = usage_json(*u);
  return json::serialize(o);
}

std::string model_list(const std::string& name, std::int64_t created) {
  json::object m{{"id", name}, {"object", "model"}, {"created", created}, {"owned_by", "modelgate"}};
  return json::serialize(json::object{{"object", "list"}, {"data", json::array{m}}});
}

std::string error_body(std::string_view message, std::string_view type) {
  return json::serialize(json::object{
      {"error", json::object{{"message", message}, {"type", type}, {"code", nullptr}}}});
}

}  // namespace modelgate::backend::openai
