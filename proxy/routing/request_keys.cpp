#include "proxy/routing/request_keys.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace modelgate::proxy {
namespace json = boost::json;
namespace http = boost::beast::http;

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<std::string> as_key(const json::value& v) {
  if (auto s = v.if_string()) return std::string(*s);
  if (v.is_int64() || v.is_uint64() || v.is_double() || v.is_bool()) return json::serialize(v);
  return std::nullopt;
}

// The text of a message's content: a string, or the first text part of a list of parts.
const json::string* content_text(const json::value& content) {
  if (auto s = content.if_string()) return s;
  if (auto parts = content.if_array()) {
    for (const auto& p : *parts)
      if (auto o = p.if_object())
        if (auto t = o->if_contains("text"); t && t->is_string()) return &t->get_string();
  }
  return nullptr;
}

std::optional<std::string> prompt_prefix(const json::object& body, std::size_t n) {
  const json::string* text = nullptr;
  if (auto p = body.if_contains("prompt")) {
    if (p->is_string()) text = &p->get_string();
    else if (auto list = p->if_array(); list && !list->empty() && list->front().is_string())
      text = &list->front().get_string();
  } else if (auto m = body.if_contains("messages")) {
    if (auto list = m->if_array(); list && !list->empty())
      if (auto first = list->front().if_object())
        if (auto c = first->if_contains("content")) text = content_text(*c);
  }
  if (!text) return std::nullopt;
  return std::string(text->data(), std::min(n, text->size()));
}

std::optional<std::string> cookie(const http::fields& headers, std::string_view name) {
  for (auto it = headers.find(http::field::cookie); it != headers.end() && it->name() == http::field::cookie; ++it) {
    std::string_view rest = it->value();
    while (!rest.empty()) {
      auto semi = rest.find(';');
      auto pair = trim(rest.substr(0, semi));
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      auto eq = pair.find('=');
      if (eq != std::string_view::npos && pair.substr(0, eq) == name) return std::string(pair.substr(eq + 1));
    }
  }
  return std::nullopt;
}

}  // namespace

const json::object* lazy_json::get() {
  if (!parsed_) {
    parsed_ = true;
    auto first = body_.find_first_not_of(" \t\r\n");
    // Only objects can carry "model" or key fields: skip parsing anything else.
    if (first != std::string_view::npos && body_[first] == '{') {
      boost::system::error_code ec;
      value_ = json::parse(body_, ec);
      if (ec) value_ = nullptr;
    }
  }
  return value_.if_object();
}

std::optional<std::string> requested_model(const request_view& r) {
  constexpr std::string_view kserve = "/v2/models/";
  auto path = r.target.substr(0, r.target.find_first_of("?#"));
  if (path.starts_with(kserve)) {
    auto name = path.substr(kserve.size());
    name = name.substr(0, name.find('/'));
    if (!name.empty()) return std::string(name);
  }
  if (auto body = r.body.get())
    if (auto m = body->if_contains("model"); m && m->is_string()) return std::string(m->get_string());
  return std::nullopt;
}

std::optional<std::string_view> presented_api_key(const http::fields& headers) {
  if (auto it = headers.find(http::field::authorization); it != headers.end()) {
    auto v = trim(it->value());
    constexpr std::string_view bearer = "Bearer ";
    if (v.size() > bearer.size() && boost::beast::iequals(v.substr(0, bearer.size()), bearer)) {
      auto key = trim(v.substr(bearer.size()));
      if (!key.empty()) return key;
    }
  }
  if (auto it = headers.find("x-api-key"); it != headers.end()) {
    auto key = trim(it->value());
    if (!key.empty()) return key;
  }
  return std::nullopt;
}

std::optional<std::string> hash_key_of(const config::hash_key& k, const request_view& r) {
  using s = config::hash_key::source;
  switch (k.from) {
    case s::none:
      return std::nullopt;
    case s::header: {
      auto it = r.headers.find(k.name);
      if (it == r.headers.end() || it->value().empty()) return std::nullopt;
      return std::string(it->value());
    }
    case s::cookie:
      return cookie(r.headers, k.name);
    case s::api_key:
      if (auto key = presented_api_key(r.headers)) return std::string(*key);
      return std::nullopt;
    case s::json_field:
      if (auto body = r.body.get())
        if (auto v = body->if_contains(k.name)) return as_key(*v);
      return std::nullopt;
    case s::prompt_prefix:
      if (auto body = r.body.get()) return prompt_prefix(*body, k.length);
      return std::nullopt;
    case s::client_ip:
      if (r.client_ip.empty()) return std::nullopt;
      return std::string(r.client_ip);
  }
  return std::nullopt;
}

}  // namespace modelgate::proxy
