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
  EXPECT_EQ(make_key(empty).hex(), "c56296dfa432f84e2a7e30f9324d1c583024b8b5d1338e13e0526717166498ee");

  request r;
  r.target = "/v1/completions?x=1";
  r.body = R"({ "temperature": 0, "prompt": "hi", "model": "m" })";
  r.vary = {{"X-Absent", std::nullopt}, {"Accept-Language", "en"}};
  EXPECT_EQ(r.key().hex(), "5d5d5c8bcfaed384f8c45f90266003654b3ab46dcdfb0c57991aad4515f8394d");
  EXPECT_EQ(r.key().bytes().size(), 32u);
  EXPECT_EQ(r.key().digest()[0], 0x5d);
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
