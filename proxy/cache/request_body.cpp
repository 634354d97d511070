#include "proxy/cache/request_body.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

namespace modelgate::cache {
namespace {

// A number too large for a double parses as infinity and serializes as "Infinity", which is not
// JSON and makes 1e400 and 1e500 look alike. Such bodies are keyed by their bytes instead.
// (Boost.JSON limits nesting to 32 levels, so the recursion is bounded.)
bool numbers_finite(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::double_:
      return std::isfinite(v.get_double());
    case boost::json::kind::array:
      return std::all_of(v.get_array().begin(), v.get_array().end(), numbers_finite);
    case boost::json::kind::object:
      return std::all_of(v.get_object().begin(), v.get_object().end(),
                         [](const auto& kv) { return numbers_finite(kv.value()); });
    default:
      return true;
  }
}

}  // namespace

request_body request_body::parse(std::string_view raw) {
  request_body b;
  b.raw_ = raw;
  // Cheap pre-check: JSON texts we care about start with { or [ (after whitespace).
  auto first = raw.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || (raw[first] != '{' && raw[first] != '[')) return b;
  boost::system::error_code ec;
  auto v = boost::json::parse(raw, ec);
  if (!ec && numbers_finite(v)) b.json_ = std::move(v);
  return b;
}

const boost::json::object* request_body::object() const {
  return json_ ? json_->if_object() : nullptr;
}

void append_canonical_json(const boost::json::value& v, std::string& out) {
  switch (v.kind()) {
    case boost::json::kind::object: {
      const auto& o = v.get_object();
      std::vector<const boost::json::key_value_pair*> members;
      members.reserve(o.size());
      for (const auto& kv : o) members.push_back(&kv);
      std::sort(members.begin(), members.end(),
                [](const auto* a, const auto* b) { return a->key() < b->key(); });
      out += '{';
      for (std::size_t i = 0; i < members.size(); ++i) {
        if (i) out += ',';
        out += boost::json::serialize(boost::json::string_view(members[i]->key()));
        out += ':';
        append_canonical_json(members[i]->value(), out);
      }
      out += '}';
      return;
    }
    case boost::json::kind::array: {
      const auto& a = v.get_array();
      out += '[';
      for (std::size_t i = 0; i < a.size(); ++i) {
        if (i) out += ',';
        append_canonical_json(a[i], out);
      }
      out += ']';
      return;
    }
    default:
      out += boost::json::serialize(v);
      return;
  }
}

std::string canonical_json(const boost::json::value& v) {
  std::string out;
  append_canonical_json(v, out);
  return out;
}

}  // namespace modelgate::cache
