#pragma once
// The proxy's one hash for ring points and request keys. FROZEN: ring positions, and so which
// backend owns which key, depend on it; the golden vectors in tests/unit/hash_ring_test.cpp pin it.
// FNV-1a 64 over the bytes, then MurmurHash3's fmix64 finaliser so nearby strings ("a#1", "a#2")
// land far apart on the ring.

#include <cstdint>
#include <string_view>

namespace modelgate::proxy {

constexpr std::uint64_t hash64(std::string_view s) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

}  // namespace modelgate::proxy
