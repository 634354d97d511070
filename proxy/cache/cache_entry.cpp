#include "proxy/cache/cache_entry.hpp"

namespace modelgate::cache {

std::string_view cache_entry::piece(std::size_t i) const {
  std::size_t begin = i == 0 ? 0 : piece_ends[i - 1];
  return std::string_view(body).substr(begin, piece_ends[i] - begin);
}

duration cache_entry::resident(time_point now) const {
  return now > stored_at ? now - stored_at : duration::zero();
}

std::chrono::seconds cache_entry::age(time_point now) const {
  return std::chrono::duration_cast<std::chrono::seconds>(resident(now)) + initial_age;
}

std::size_t cache_entry::charge() const {
  std::size_t n = sizeof(cache_entry) + body.size() + route.size() +
                  piece_ends.size() * sizeof(std::size_t);
  for (const auto& h : headers) n += sizeof(header_field) + h.name.size() + h.value.size();
  return n;
}

}  // namespace modelgate::cache
