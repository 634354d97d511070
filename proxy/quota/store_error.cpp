#include "proxy/quota/store_error.hpp"

#include <string>

namespace modelgate::quota {

namespace {

std::string_view name_of(store_errc e) noexcept {
  switch (e) {
    case store_errc::timeout: return "timeout";
    case store_errc::connect_failed: return "connect_failed";
    case store_errc::backing_off: return "backing_off";
    case store_errc::disconnected: return "disconnected";
    case store_errc::protocol: return "protocol";
    case store_errc::script: return "script";
  }
  return "other";
}

class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "modelgate.quota_store"; }
  std::string message(int v) const override {
    switch (static_cast<store_errc>(v)) {
      case store_errc::timeout: return "quota store call timed out";
      case store_errc::connect_failed: return "cannot connect to the quota store";
      case store_errc::backing_off: return "quota store unavailable (reconnect backoff)";
      case store_errc::disconnected: return "quota store connection lost";
      case store_errc::protocol: return "unexpected reply from the quota store";
      case store_errc::script: return "quota store script error";
    }
    return "unknown quota store error";
  }
};

}  // namespace

const boost::system::error_category& store_category() noexcept {
  static const category c;
  return c;
}

std::string_view store_error_name(const boost::system::error_code& ec) noexcept {
  if (ec.category() != store_category()) return "other";
  return name_of(static_cast<store_errc>(ec.value()));
}

}  // namespace modelgate::quota
