#include "proxy/cache/cache_key.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace modelgate::cache {
namespace {

// A request whose parts the tests change one at a time.
struct request {
  std::string method = "POST";
  std::string route = "text";
  std::string host = "Models.Example:8443";
  std::string target = "/v1/completions";
  std::string body = R"({"model":"m","prompt":"hi","temperature":0})";
  std::vector<vary_value> vary;
  std::string api_key_id = "key-a";
  key_scope scope = key_scope::per_api_key;

  cache_key key() const {
    auto b = request_body::parse(body);
    return make_key(input(b));
  }
  std::string material() const {
    auto b = request_body::parse(body);
    return key_material(input(b));
  }

 private:
  key_input input(const request_body& b) const {
    key_input in;
    auto [path, query] = split_target(target);
    in.method = method;
    in.route = route;
    in.host = host;
    in.path = path;
    in.query = query;
    in.body = &b;
    in.vary = vary;
    in.api_key_id = api_key_id;
    in.scope = scope;
    return in;
  }
};

TEST(CacheKey, ObjectKeyOrderAndWhitespaceDoNotMatter) {
  request a, b;
  a.body = R"({"a":1,"b":2})";
  b.body = "{ \"b\":2,\n\t\"a\" : 1 }";
  EXPECT_EQ(a.key(), b.key());
}

TEST(CacheKey, NestedObjectsAreSortedToo) {
  request a, b;
  a.body = R"({"messages":[{"role":"user","content":"x"}],"opts":{"z":1,"a":{"d":1,"c":2}}})";
  b.body = R"({"opts":{"a":{"c":2,"d":1},"z":1},"messages":[{"content":"x","role":"user"}]})";
  EXPECT_EQ(a.key(), b.key());
}

TEST(CacheKey, ArrayOrderMatters) {
  request a, b;
  a.body = R"({"x":[1,2]})";
  b.body = R"({"x":[2,1]})";
  EXPECT_NE(a.key(), b.key());
}

TEST(CacheKey, EscapedStringsCompareByValue) {
  request a, b;
  a.body = R"({"prompt":"A"})";
  b.body = R"({"prompt":"\u0041"})";
  EXPECT_EQ(a.key(), b.key());
}

TEST(CacheKey, CanonicalJsonText) {
  auto b = request_body::parse(R"( { "b" : [ true , null , "s" ], "a" : { "y" : 1.5, "x" : -2 } } )");
  ASSERT_NE(b.json(), nullptr);
  EXPECT_EQ(canonical_json(*b.json()), R"({"a":{"x":-2,"y":1.5E0},"b":[true,null,"s"]})");
}

TEST(CacheKey, DifferentValuesDiffer) {
  request base;
  std::set<std::string> keys{base.key().hex()};
  auto add = [&](auto change) {
    request r;
    change(r);
    EXPECT_TRUE(keys.insert(r.key().hex()).second) << r.material();
  };
  add([](request& r) { r.method = "GET"; });
  add([](request& r) { r.route = "other"; });
  add([](request& r) { r.host = "other.example:8443"; });
  add([](request& r) { r.host = "models.example.org:8443"; });
  add([](request& r) { r.host = ""; });
  add([](request& r) { r.target = "/v1/chat/completions"; });
  add([](request& r) { r.target = "/v1/completions?x=1"; });
  add([](request& r) { r.target = "/v1/completions?x=2"; });
  add([](request& r) { r.body = R"({"model":"m","prompt":"hi!","temperature":0})"; });
  add([](request& r) { r.body = R"({"model":"m","prompt":"hi","temperature":0.0})"; });
  add([](request& r) { r.body = ""; });
  add([](request& r) { r.api_key_id = "key-b"; });
  add([](request& r) { r.api_key_id = ""; });
}

TEST(CacheKey, FieldsCannotRunIntoEachOther) {
  request a, b;
  a.route = "ab";
  a.target = "/c";
  b.route = "a";
  b.target = "b/c";
  EXPECT_NE(a.key(), b.key());
  request c, d;
  c.target = "/p?";
  d.target = "/p";
  EXPECT_EQ(c.key(), d.key());  // an empty query is no query
}

// Issue 14: two virtual hosts may answer the same path differently. The Host is compared
// case-insensitively (RFC 9110 §4.2.3) and without its port, as routes match it: proxies that
// share the Redis tier are often reached on different ports.
TEST(CacheKey, HostIsPartOfTheKeyCaseInsensitivelyWithoutPort) {
  request a, b, c, d, e;
  a.host = "models.example:8443";
  b.host = "MODELS.example";
  c.host = "models.example:443";
  d.host = "other.example:8443";
  EXPECT_EQ(a.key(), b.key());
  EXPECT_EQ(a.key(), c.key());
  EXPECT_NE(a.key(), d.key());
  request v6, v6_port, v6_other;
  v6.host = "[::1]";
  v6_port.host = "[::1]:8443";
  v6_other.host = "[::2]:8443";
  EXPECT_EQ(v6.key(), v6_port.key());
  EXPECT_NE(v6.key(), v6_other.key());
}

// The finding: two `/v2/` routes, one matching `x-tier: premium` to pool `premium`, one without
// to pool `p`, both named "/v2/" by default. Their identities differ, so their entries do.
TEST(CacheKey, RoutesThatMatchOrSendDifferentlyHaveDifferentIdentities) {
  route_identity premium, plain;
  premium.path_prefix = plain.path_prefix = "/v2/";
  premium.header_name = "x-tier";
  premium.header_value = "premium";
  premium.pool = "premium";
  plain.pool = "p";
  EXPECT_NE(encode_route_identity(premium), encode_route_identity(plain));
  request a, b;
  a.route = encode_route_identity(premium);
  b.route = encode_route_identity(plain);
  EXPECT_NE(a.key(), b.key());

  std::set<std::string> ids{encode_route_identity(plain)};
  const std::vector<std::string> one_model{"m"};
  auto add = [&](auto change) {
    auto id = plain;
    change(id);
    EXPECT_TRUE(ids.insert(encode_route_identity(id)).second);
  };
  add([](route_identity& i) { i.path_prefix = "/v1/"; });
  add([](route_identity& i) { i.path = "/v2/x"; });
  add([](route_identity& i) { i.host = "a.example"; });
  add([](route_identity& i) { i.header_name = "x-tier"; });  // presence only
  add([](route_identity& i) { i.header_name = "x-tier"; i.header_value = "gold"; });
  add([&](route_identity& i) { i.models = one_model; });
  add([](route_identity& i) { i.pool = "q"; });
  add([](route_identity& i) { i.fallback = "q"; });
  // Parts cannot run into each other.
  add([](route_identity& i) { i.path_prefix = "/v2/p"; i.pool = ""; });
}

TEST(CacheKey, RouteIdentityIgnoresCaseOfHostAndHeaderNameAndModelOrder) {
  const std::vector<std::string> ab{"a", "b"}, ba{"b", "a"};
  route_identity x, y;
  x.host = "API.example";
  y.host = "api.EXAMPLE";
  x.header_name = "X-Tier";
  y.header_name = "x-tier";
  x.header_value = y.header_value = "v";
  x.models = ab;
  y.models = ba;
  x.pool = y.pool = "p";
  EXPECT_EQ(encode_route_identity(x), encode_route_identity(y));
  y.header_value = "V";
  EXPECT_NE(encode_route_identity(x), encode_route_identity(y)) << "values are compared exactly";
}

TEST(CacheKey, NonJsonBodyHashedAsBytes) {
  request a, b, c;
  a.body = "plain text";
  b.body = "plain text";
  c.body = "plain  text";
  EXPECT_EQ(a.key(), b.key());
  EXPECT_NE(a.key(), c.key());
  request broken, spaced;
  broken.body = R"({"a":1,)";
  spaced.body = R"({ "a":1,)";
  EXPECT_NE(broken.key(), spaced.key());  // invalid JSON is not canonicalised
}

TEST(CacheKey, VaryHeadersArePartOfTheKey) {
  request a, b, none, missing, empty;
  a.vary = {{"Accept-Language", "en"}};
  b.vary = {{"accept-language", "fr"}};
  EXPECT_NE(a.key(), b.key());
  request a2;
  a2.vary = {{"ACCEPT-LANGUAGE", "en"}};
  EXPECT_EQ(a.key(), a2.key());  // names are case-insensitive
  missing.vary = {{"accept-language", std::nullopt}};
  empty.vary = {{"accept-language", ""}};
  EXPECT_NE(missing.key(), empty.key());
  EXPECT_NE(none.key(), missing.key());
}

TEST(CacheKey, VaryOrderDoesNotMatter) {
  request a, b;
  a.vary = {{"x-one", "1"}, {"x-two", "2"}};
  b.vary = {{"x-two", "2"}, {"x-one", "1"}};
  EXPECT_EQ(a.key(), b.key());
  request c;
  c.vary = {{"x-one", "2"}, {"x-two", "1"}};
  EXPECT_NE(a.key(), c.key());
}

TEST(CacheKey, ApiKeyIdSeparatesTenantsUnlessShared) {
  request a, b;
  a.api_key_id = "tenant-1";
  b.api_key_id = "tenant-2";
  EXPECT_NE(a.key(), b.key());
  a.scope = b.scope = key_scope::shared;
  EXPECT_EQ(a.key(), b.key());
  request per_key_anonymous;
  per_key_anonymous.api_key_id = "";
  EXPECT_NE(a.key(), per_key_anonymous.key());  // shared entries are not anonymous entries
}

// Golden vectors computed independently (Python hashlib over the documented encoding):
// changing the encoding must be a deliberate version bump, and a stored Redis tier shares keys.
TEST(CacheKey, GoldenDigests) {
  key_input empty;
  EXPECT_EQ(make_key(empty).hex(), "d409b50b9cf74a4cb088bb56bf889fc51e31a01f28a8f6c2d2390944b448b17f");

  request r;
  r.target = "/v1/completions?x=1";
  r.body = R"({ "temperature": 0, "prompt": "hi", "model": "m" })";
  r.vary = {{"X-Absent", std::nullopt}, {"Accept-Language", "en"}};
  EXPECT_EQ(r.key().hex(), "09c3942528896a94a6e118a5f150fc1569849c6effaf36e578294b2521863bb2");
  EXPECT_EQ(r.key().bytes().size(), 32u);
  EXPECT_EQ(r.key().digest()[0], 0x09);

  const std::vector<std::string> models{"b", "a"};
  route_identity id;
  id.path_prefix = "/v2/";
  id.host = "API.example";
  id.header_name = "X-Tier";
  id.header_value = "premium";
  id.models = models;
  id.pool = "premium";
  id.fallback = "p";
  auto hex = [](const std::string& bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char b : bytes) {
      out += digits[b >> 4];
      out += digits[b & 15];
    }
    return out;
  };
  EXPECT_EQ(hex(encode_route_identity(id)),
            "5004000000000000002f76322f450000000000000000480b000000000000006170692e6578616d706c65"
            "4e0600000000000000782d746965725607000000000000007072656d69756d4d01000000000000006"
            "14d0100000000000000624f07000000000000007072656d69756d460100000000000000"
            "70");
}

TEST(CacheKey, SplitTarget) {
  EXPECT_EQ(split_target("/a?b=1&c"), (std::pair<std::string_view, std::string_view>{"/a", "b=1&c"}));
  EXPECT_EQ(split_target("/a"), (std::pair<std::string_view, std::string_view>{"/a", ""}));
}

// Found by canonical_json_fuzz: an out-of-range number parses as infinity, which canonicalised
// to the non-JSON text "Infinity" and made 1e400 and 1e500 one key. Such bodies are keyed by
// their bytes.
TEST(CacheKey, NumbersOutOfDoubleRangeKeepTheirBytes) {
  EXPECT_EQ(request_body::parse(R"({"a":[1e457]})").json(), nullptr);
  EXPECT_NE(request_body::parse(R"({"a":[1e300]})").json(), nullptr);
  request a, b;
  a.body = R"({"x":1e400})";
  b.body = R"({"x":1e500})";
  EXPECT_NE(a.key(), b.key());
}

}  // namespace
}  // namespace modelgate::cache
