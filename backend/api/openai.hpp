#pragma once
// OpenAI-style completions and chat completions bodies: request parsing (with the chat
// template) and the JSON of responses, stream chunks and errors. Pure: strings in, strings out.

#include "backend/api/kserve.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace modelgate::backend::openai {

enum class api_kind { completion, chat };

struct completion_request {
  api_kind kind = api_kind::completion;
  std::string prompt;  // for chat: the messages joined by the template
  std::size_t max_tokens = 16;
  double temperature = 1.0;
  std::optional<std::uint64_t> seed;
  bool stream = false;
};

inline constexpr std::size_t max_prompt_bytes = 16 * 1024;
inline constexpr std::size_t max_completion_tokens = 4096;

/// Chat: each message becomes "<role>: <content>\n", then "assistant:" asks for the reply.
std::variant<completion_request, kserve::api_error> parse(std::string_view body, api_kind kind);

struct usage {
  std::size_t prompt_tokens = 0;
  std::size_t completion_tokens = 0;
};

/// Identity of one response: shared by all of its chunks.
struct response_id {
  std::string id;     // "cmpl-..." / "chatcmpl-..."
  std::string model;
  std::int64_t created = 0;  // Unix seconds
};

/// A whole (non-stream) response.
std::string full_response(api_kind kind, const response_id& r, std::string_view text,
                          const char* finish_reason, const usage& u);

/// One stream event's JSON: a text piece, and on the last one the finish reason and usage.
std::string chunk(api_kind kind, const response_id& r, std::string_view text,
                  const char* finish_reason, const std::optional<usage>& u);

/// GET /v1/models.
std::string model_list(const std::string& name, std::int64_t created);

/// {"error": {"message", "type", "code"}} as OpenAI clients expect.
std::string error_body(std::string_view message, std::string_view type);

}  // namespace modelgate::backend::openai
