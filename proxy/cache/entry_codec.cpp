#include "proxy/cache/entry_codec.hpp"

#include "proxy/cache/lru_store.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>

namespace modelgate::cache {
namespace {

// Layout (all integers little-endian):
//   "MGCE1"  status:u16  framing:u8  age_s:u32  ttl_ms:u64  route:str
//   headers:u32 { name:str value:str }*  pieces:u32 { end:u64 }*  body:str
// where str is u32 length + bytes. Piece ends are increasing and the last equals body length.
constexpr std::string_view magic = "MGCE1";

void put_uint(std::string& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

void put_str(std::string& out, std::string_view s) {
  put_uint(out, s.size(), 4);
  out.append(s);
}

class reader {
 public:
  explicit reader(std::string_view in) : in_(in) {}

  std::optional<std::uint64_t> uint(int bytes) {
    if (in_.size() < static_cast<std::size_t>(bytes)) return std::nullopt;
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= std::uint64_t{static_cast<unsigned char>(in_[i])} << (8 * i);
    in_.remove_prefix(static_cast<std::size_t>(bytes));
    return v;
  }
  std::optional<std::string_view> str() {
    auto n = uint(4);
    if (!n || *n > in_.size()) return std::nullopt;
    auto s = in_.substr(0, *n);
    in_.remove_prefix(*n);
    return s;
  }
  bool literal(std::string_view s) {
    if (in_.substr(0, s.size()) != s) return false;
    in_.remove_prefix(s.size());
    return true;
  }
  std::size_t left() const { return in_.size(); }

 private:
  std::string_view in_;
};

}  // namespace

std::string encode_entry(const cache_entry& e, time_point now) {
  std::string out;
  out.reserve(64 + e.route.size() + e.body.size() + 8 * e.piece_ends.size());
  out.append(magic);
  put_uint(out, e.status, 2);
  put_uint(out, e.framing == body_framing::chunked ? 1 : 0, 1);
  put_uint(out, static_cast<std::uint64_t>(std::min<std::int64_t>(e.age(now).count(), UINT32_MAX)), 4);
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(e.expires_at - now).count();
  put_uint(out, static_cast<std::uint64_t>(std::max<std::int64_t>(0, left)), 8);
  put_str(out, e.route);
  put_uint(out, e.headers.size(), 4);
  for (const auto& h : e.headers) {
    put_str(out, h.name);
    put_str(out, h.value);
  }
  put_uint(out, e.piece_ends.size(), 4);
  for (auto end : e.piece_ends) put_uint(out, end, 8);
  put_str(out, e.body);
  return out;
}

std::shared_ptr<cache_entry> decode_entry(std::string_view bytes, time_point now,
                                          std::size_t max_charge) {
  // Every length is checked against the bytes left and the running charge before any copy, so
  // a hostile length cannot make us allocate more than the input or the cap.
  if (bytes.size() > max_charge) return nullptr;
  reader r(bytes);
  if (!r.literal(magic)) return nullptr;
  auto e = std::make_shared<cache_entry>();
  auto status = r.uint(2);
  auto framing = r.uint(1);
  auto age = r.uint(4);
  auto ttl_ms = r.uint(8);
  auto route = r.str();
  if (!status || !framing || *framing > 1 || !age || !ttl_ms || !route) return nullptr;
  // Past ~292 years the duration would overflow; such a TTL is not ours anyway.
  if (*ttl_ms > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max() / 1'000'000))
    return nullptr;
  e->status = static_cast<unsigned>(*status);
  e->framing = *framing ? body_framing::chunked : body_framing::content_length;
  e->initial_age = std::chrono::seconds(*age);
  e->stored_at = now;
  e->expires_at = now + std::chrono::milliseconds(*ttl_ms);
  e->route.assign(*route);

  auto headers = r.uint(4);
  if (!headers || *headers > r.left() / 8) return nullptr;  // each header takes >= 8 bytes
  e->headers.reserve(*headers);
  for (std::uint64_t i = 0; i < *headers; ++i) {
    auto name = r.str();
    auto value = r.str();
    if (!name || !value) return nullptr;
    e->headers.push_back(header_field{std::string(*name), std::string(*value)});
  }
  auto pieces = r.uint(4);
  if (!pieces || *pieces > r.left() / 8) return nullptr;
  e->piece_ends.reserve(*pieces);
  for (std::uint64_t i = 0; i < *pieces; ++i) {
    auto end = r.uint(8);
    // Increasing and non-empty pieces only (an empty chunk would end a chunked replay).
    if (!end || (e->piece_ends.empty() ? *end == 0 : *end <= e->piece_ends.back())) return nullptr;
    e->piece_ends.push_back(*end);
  }
  auto body = r.str();
  if (!body || r.left() != 0) return nullptr;
  const std::size_t last = e->piece_ends.empty() ? 0 : e->piece_ends.back();
  if (last != body->size()) return nullptr;
  e->body.assign(*body);
  if (lru_store::charge_of(*e) > max_charge) return nullptr;
  return e;
}

}  // namespace modelgate::cache
