#include "proxy/quota/token_usage.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

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

}  // namespace

std::optional<std::uint64_t> requested_max_tokens(std::string_view json_body) {
  auto doc = parse(json_body);
  if (!doc || !doc->is_object()) return std::nullopt;
  const auto& obj = doc->get_object();
  if (auto n = as_count(obj.if_contains("max_tokens"))) return n;
  return as_count(obj.if_contains("max_completion_tokens"));
}

std::uint64_t token_estimate(std::string_view json_body, std::uint64_t fallback) {
  return requested_max_tokens(json_body).value_or(fallback);
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
