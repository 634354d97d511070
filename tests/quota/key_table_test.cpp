// Key extraction from headers, hashing, the hex form, lookup and route allow-lists.
#include "proxy/quota/key_table.hpp"

#include <gtest/gtest.h>

namespace modelgate::quota {
namespace {

api_key make_key(std::string id, std::string_view raw, std::vector<std::string> routes = {}) {
  api_key k;
  k.id = std::move(id);
  k.digest = sha256(raw);
  k.routes = std::move(routes);
  k.quota.requests_per_second = 10;
  return k;
}

TEST(HashKey, KnownVectors) {
  EXPECT_EQ(hash_key("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hash_key(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(ParseHex, RoundTripsAndAcceptsUpperCase) {
  const auto hex = hash_key("sk-test-1");
  auto d = parse_sha256_hex(hex);
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, sha256("sk-test-1"));
  std::string upper = hex;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(parse_sha256_hex(upper), d);
}

TEST(ParseHex, RejectsWrongLengthAndNonHex) {
  const auto hex = hash_key("x");
  EXPECT_FALSE(parse_sha256_hex(""));
  EXPECT_FALSE(parse_sha256_hex(hex.substr(0, 63)));
  EXPECT_FALSE(parse_sha256_hex(hex + "0"));
  EXPECT_FALSE(parse_sha256_hex(hex.substr(0, 32)));  // a 128-bit digest is not ours
  std::string bad = hex;
  bad[10] = 'g';
  EXPECT_FALSE(parse_sha256_hex(bad));
  bad = hex;
  bad[63] = ' ';
  EXPECT_FALSE(parse_sha256_hex(bad));
}

TEST(ExtractKey, BearerAndXApiKey) {
  EXPECT_EQ(extract_api_key("Bearer sk-1", ""), "sk-1");
  EXPECT_EQ(extract_api_key("bearer sk-1", ""), "sk-1");
  EXPECT_EQ(extract_api_key("BEARER   sk-1  ", ""), "sk-1");
  EXPECT_EQ(extract_api_key("  Bearer\tsk-1", ""), "sk-1");
  EXPECT_EQ(extract_api_key("", "sk-2"), "sk-2");
  EXPECT_EQ(extract_api_key("", "  sk-2 "), "sk-2");
  // Authorization wins when both are present.
  EXPECT_EQ(extract_api_key("Bearer sk-1", "sk-2"), "sk-1");
}

TEST(ExtractKey, MissingOrOtherSchemes) {
  EXPECT_FALSE(extract_api_key("", ""));
  EXPECT_FALSE(extract_api_key("Bearer", ""));
  EXPECT_FALSE(extract_api_key("Bearer    ", ""));
  EXPECT_FALSE(extract_api_key("Bearersk-1", ""));
  EXPECT_FALSE(extract_api_key("Basic dXNlcjpwYXNz", ""));
  EXPECT_EQ(extract_api_key("Basic dXNlcjpwYXNz", "sk-2"), "sk-2");
  EXPECT_EQ(extract_api_key("Bearer ", "sk-2"), "sk-2");
  EXPECT_FALSE(extract_api_key("", "   "));
}

TEST(KeyTable, FindsByRawKeyAndRejectsUnknown) {
  key_table t({make_key("team-a", "sk-a"), make_key("team-b", "sk-b")});
  ASSERT_EQ(t.size(), 2u);
  const auto* a = t.find("sk-a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->id, "team-a");
  EXPECT_EQ(a->quota.requests_per_second, 10);
  ASSERT_NE(t.find("sk-b"), nullptr);
  EXPECT_EQ(t.find("sk-b")->id, "team-b");
  EXPECT_EQ(t.find("sk-c"), nullptr);
  EXPECT_EQ(t.find(""), nullptr);
  EXPECT_EQ(t.find("sk-a "), nullptr);  // exact bytes only (extract_api_key trims)
  EXPECT_EQ(t.find_id("team-b"), t.find("sk-b"));
  EXPECT_EQ(t.find_id("team-c"), nullptr);
  EXPECT_EQ(key_table{}.find("sk-a"), nullptr);
}

TEST(KeyTable, SamePrefixDifferentDigestGoesThroughTheFullCompare) {
  // A stored digest that shares the first 8 bytes (the index) with the presented key's digest
  // but differs in the last byte: only the full constant-time compare can tell them apart.
  auto presented = sha256("sk-a");
  api_key decoy;
  decoy.id = "decoy";
  decoy.digest = presented;
  decoy.digest[31] ^= 0x01;
  api_key decoy_mid = decoy;
  decoy_mid.id = "decoy-mid";
  decoy_mid.digest = presented;
  decoy_mid.digest[16] ^= 0x80;
  key_table t({decoy, decoy_mid});
  EXPECT_EQ(t.find("sk-a"), nullptr);
  EXPECT_EQ(t.find_digest(decoy.digest)->id, "decoy");
  // And with the real one added among the decoys it finds exactly that one.
  key_table t2({decoy, make_key("real", "sk-a"), decoy_mid});
  ASSERT_NE(t2.find("sk-a"), nullptr);
  EXPECT_EQ(t2.find("sk-a")->id, "real");
}

TEST(KeyTable, DuplicatesAreConfigErrors) {
  EXPECT_THROW(key_table({make_key("a", "k1"), make_key("a", "k2")}), std::invalid_argument);
  try {
    key_table({make_key("a", "k1"), make_key("b", "k1")});
    FAIL() << "expected a duplicate-digest error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'b'"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("k1"), std::string::npos) << "raw key leaked";
  }
}

TEST(RouteAllowed, PrefixesAndModels) {
  const auto any = make_key("any", "k");
  EXPECT_TRUE(route_allowed(any, "/anything", std::nullopt));
  const auto k = make_key("k", "k", {"/v1/chat/", "llama-3-8b"});
  EXPECT_TRUE(route_allowed(k, "/v1/chat/completions", std::nullopt));
  EXPECT_TRUE(route_allowed(k, "/v1/chat/completions?x=1", std::nullopt));
  EXPECT_FALSE(route_allowed(k, "/v1/embeddings", std::nullopt));
  EXPECT_FALSE(route_allowed(k, "/v1/embeddings?p=/v1/chat/", std::nullopt));
  EXPECT_TRUE(route_allowed(k, "/v1/embeddings", "llama-3-8b"));
  EXPECT_FALSE(route_allowed(k, "/v1/embeddings", "llama-3-70b"));
  EXPECT_FALSE(route_allowed(k, "/v1/embeddings", "/v1/chat/"));  // a model is not a path
}

}  // namespace
}  // namespace modelgate::quota
