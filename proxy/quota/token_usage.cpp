#include "proxy/quota/token_usage.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>

namespace modelgate::quota {

namespace json = boost::json;

namespace {

std::optional<json::value> parse(std::string_view text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec) return std::nullopt;
  return v;
}

std::optional<std::uint64_t> as_count(const json::value* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_uint64()) return v->get_uint64();
  if (v->is_int64() && v->get_int64() >= 0) return static_cast<std::uint64_t>(v->get_int64());
  return std::nullopt;
}

std::optional<std::uint64_t> usage_of(const json::value& doc) {
  const auto* obj = doc.if_object();
  if (obj == nullptr) return std::nullopt;
  const auto* usage = obj->if_contains("usage");
  if (usage == nullptr || !usage->is_object()) return std::nullopt;
  const auto& u = usage->get_object();
  if (auto t = as_count(u.if_contains("total_tokens"))) return t;
  for (auto [in, out] : {std::pair{"prompt_tokens", "completion_tokens"},
                         std::pair{"input_tokens", "output_tokens"}}) {
    auto a = as_count(u.if_contains(in));
    auto b = as_count(u.if_contains(out));
    if (a && b) return *a + *b;
  }
  return std::nullopt;
}

// The larger of max_tokens and max_completion_tokens: a client sending both must not be charged
// for the smaller while the server honours the larger.
std::optional<std::uint64_t> max_tokens_of(const json::object& obj) {
  auto a = as_count(obj.if_contains("max_tokens"));
  auto b = as_count(obj.if_contains("max_completion_tokens"));
  if (a && b) return std::max(*a, *b);
  return a ? a : b;
}

// Characters of the text the model will read: a string, or the strings and {"text": ...} parts of
// an array, or the "content" of message objects in it (nested once more for content parts).
std::uint64_t text_chars(const json::value* v, int depth = 0) {
  if (v == nullptr || depth > 5) return 0;
  if (v->is_string()) return v->get_string().size();
  std::uint64_t n = 0;
  if (const auto* arr = v->if_array()) {
    for (const auto& item : *arr) n += text_chars(&item, depth + 1);
  } else if (const auto* obj = v->if_object()) {
    n += text_chars(obj->if_contains("content"), depth + 1);
    n += text_chars(obj->if_contains("text"), depth + 1);
  }
  return n;
}

// About four characters a token for English text in OpenAI's tokenizers, rounded up.
std::uint64_t prompt_tokens_of(const json::object& obj) {
  std::uint64_t chars = 0;
  for (const char* field : {"prompt", "messages", "input"}) chars += text_chars(obj.if_contains(field));
  return (chars + 3) / 4;
}

}  // namespace

std::optional<std::uint64_t> requested_max_tokens(std::string_view json_body) {
  auto doc = parse(json_body);
  if (!doc || !doc->is_object()) return std::nullopt;
  return max_tokens_of(doc->get_object());
}

std::uint64_t prompt_token_estimate(std::string_view json_body) {
  auto doc = parse(json_body);
  if (!doc || !doc->is_object()) return 0;
  return prompt_tokens_of(doc->get_object());
}

std::uint64_t token_estimate(std::string_view json_body, std::uint64_t fallback) {
  auto doc = parse(json_body);
  if (!doc || !doc->is_object()) return fallback;
  const auto& obj = doc->get_object();
  return max_tokens_of(obj).value_or(fallback) + prompt_tokens_of(obj);
}

std::optional<std::uint64_t> usage_total_tokens(std::string_view json_body) {
  auto doc = parse(json_body);
  if (!doc) return std::nullopt;
  return usage_of(*doc);
}

void sse_usage_scanner::feed(std::string_view chunk) {
  if (after_cr_ && !chunk.empty() && chunk.front() == '\n') chunk.remove_prefix(1);
  after_cr_ = false;
  while (!chunk.empty()) {
    const auto end = chunk.find_first_of("\r\n");
    if (end == std::string_view::npos) {
      // Keep at most one event's worth of an unfinished line.
      if (skipping_line_) return;
      if (partial_.size() + chunk.size() <= max_event_bytes_) {
        partial_.append(chunk);
      } else {
        // Too long to be worth keeping: drop the rest of this line and the event it is in.
        oversized_ = true;
        has_data_ = true;
        skipping_line_ = true;
        partial_.clear();
      }
      return;
    }
    if (skipping_line_) {
      skipping_line_ = false;
    } else if (partial_.empty()) {
      line(chunk.substr(0, end));
    } else {
      partial_.append(chunk.substr(0, end));
      line(partial_);
      partial_.clear();
    }
    const bool cr = chunk[end] == '\r';
    chunk.remove_prefix(end + 1);
    if (cr) {
      if (chunk.empty()) after_cr_ = true;
      else if (chunk.front() == '\n') chunk.remove_prefix(1);
    }
  }
}

void sse_usage_scanner::finish() {
  if (!partial_.empty()) {
    line(partial_);
    partial_.clear();
  }
  dispatch();
}

void sse_usage_scanner::line(std::string_view l) {
  if (l.empty()) return dispatch();
  if (!l.starts_with("data")) return;  // event:, id:, retry:, comments
  auto value = l.substr(4);
  if (!value.empty() && value.front() != ':') return;  // a field named data-something
  if (!value.empty()) value.remove_prefix(1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (has_data_) data_.push_back('\n');
  has_data_ = true;
  if (data_.size() + value.size() > max_event_bytes_) {
    oversized_ = true;
    data_.clear();
    return;
  }
  data_.append(value);
}

void sse_usage_scanner::dispatch() {
  if (has_data_ && !oversized_) {
    ++events_;
    // Only chunks that mention usage are worth a JSON parse.
    if (data_.find("\"usage\"") != std::string::npos) {
      if (auto t = usage_total_tokens(data_)) total_ = t;
    }
  }
  data_.clear();
  has_data_ = false;
  oversized_ = false;
}

}  // namespace modelgate::quota
