// The backend's OpenAI-style request decoding and response encoding (backend/api/openai.cpp,
// torch-free). Any body, as a completion and as a chat completion: either a 400 that says why,
// or a request within the limits the generator relies on (prompt size, max_tokens, temperature;
// a chat prompt ending in the "assistant:" cue). The decoded prompt then goes through the
// response and stream-chunk encoders as if it were generated text, and must come back out of
// their JSON unchanged: a client always gets JSON it can parse.

#include "backend/api/openai.hpp"

#include <boost/json.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <variant>

namespace {

namespace openai = modelgate::backend::openai;
namespace json = boost::json;

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}

// The text of the single choice of an encoded response or chunk.
std::string_view choice_text(const json::value& doc, openai::api_kind kind, const char* holder) {
  const auto& choice = doc.at("choices").at(0);
  if (kind == openai::api_kind::completion) return choice.at("text").as_string();
  return choice.at(holder).at("content").as_string();
}

void round_trip(const openai::completion_request& r) {
  const openai::response_id id{"cmpl-fuzz", "textgen", 1700000000};
  const openai::usage u{r.prompt.size(), r.max_tokens};
  boost::system::error_code ec;
  auto full = json::parse(openai::full_response(r.kind, id, r.prompt, "length", u), ec);
  check(!ec, "a full response is JSON");
  check(choice_text(full, r.kind, "message") == r.prompt, "a full response carries the text unchanged");
  auto piece = json::parse(openai::chunk(r.kind, id, r.prompt, nullptr, std::nullopt), ec);
  check(!ec, "a stream chunk is JSON");
  check(choice_text(piece, r.kind, "delta") == r.prompt, "a chunk carries the text unchanged");
  check(piece.at("choices").at(0).at("finish_reason").is_null(), "a middle chunk has no finish reason");
}

void decode(std::string_view body, openai::api_kind kind) {
  auto result = openai::parse(body, kind);
  if (const auto* err = std::get_if<modelgate::backend::kserve::api_error>(&result)) {
    check(err->status == 400, "a refused body is a 400");
    check(!err->message.empty(), "a refusal says why");
    boost::system::error_code ec;
    json::parse(openai::error_body(err->message, "invalid_request_error"), ec);
    check(!ec, "an error body is JSON");
    return;
  }
  const auto& r = std::get<openai::completion_request>(result);
  check(r.kind == kind, "the kind asked for");
  check(r.prompt.size() <= openai::max_prompt_bytes, "the prompt within max_prompt_bytes");
  check(r.max_tokens >= 1 && r.max_tokens <= openai::max_completion_tokens, "max_tokens within 1..max");
  check(std::isfinite(r.temperature) && r.temperature >= 0 && r.temperature <= 5, "temperature within 0..5");
  if (kind == openai::api_kind::chat)
    check(r.prompt.size() >= 10 && r.prompt.ends_with("assistant:"), "a chat prompt ends with the cue");
  round_trip(r);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  decode(body, openai::api_kind::completion);
  decode(body, openai::api_kind::chat);
  return 0;
}
