#pragma once
// What routing reads from a request beyond its path: the model it asks for and the key a
// consistent-hash pool places it by. Pure; the JSON body is parsed at most once, and only when a
// route or hash key needs it.

#include "config/config.hpp"

#include <boost/beast/http/fields.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace modelgate::proxy {

/// The request body parsed as JSON on first use; nullptr when it is not a JSON object.
class lazy_json {
 public:
  explicit lazy_json(std::string_view body) : body_(body) {}
  const boost::json::object* get();

 private:
  std::string_view body_;
  bool parsed_ = false;
  boost::json::value value_;
};

struct request_view {
  std::string_view target;  // path and query
  const boost::beast::http::fields& headers;
  std::string_view client_ip;
  lazy_json& body;
};

/// The model a request names: `{name}` of a KServe `/v2/models/{name}[/...]` path, else the
/// string `model` field of a JSON body.
std::optional<std::string> requested_model(const request_view& r);

/// The API key a client presented: `Authorization: Bearer KEY` or `x-api-key: KEY`.
std::optional<std::string_view> presented_api_key(const boost::beast::http::fields& headers);

/// The string a consistent-hash pool hashes, or nullopt when the request lacks it (the pool then
/// falls back to least_queue). `prompt_prefix:N` takes the first N bytes of `prompt` (a string
/// or the first of a list) or of the first message's content.
std::optional<std::string> hash_key_of(const config::hash_key& k, const request_view& r);

}  // namespace modelgate::proxy
