#pragma once
// Maps a request to the first configured route that matches it. Immutable once built; pure.

#include "config/config.hpp"

#include <boost/beast/http/fields.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace modelgate::proxy {

/// What routes look at. `model` is filled by the caller only when the table needs_model().
struct route_input {
  std::string_view target;  // path plus optional query
  std::string_view host;    // Host header (a port is ignored)
  const boost::beast::http::fields* headers = nullptr;
  std::optional<std::string_view> model;  // JSON "model" or KServe /v2/models/{name}
};

class route_table {
 public:
  explicit route_table(const std::vector<config::route>& routes);

  /// Index into the configured routes of the first match, or nullopt. Thread-safe (const).
  std::optional<std::size_t> match(const route_input& in) const;

  /// Shorthand for a request that only has a target.
  std::optional<std::size_t> match(std::string_view target) const {
    return match(route_input{target, {}, nullptr, std::nullopt});
  }

  /// Before the model is known: true when a `public: true` route could match `in` whatever its
  /// model turns out to be (so an API key cannot be required yet).
  bool may_match_public(const route_input& in) const;

  /// True when some route matches on the model, so the caller must extract it.
  bool needs_model() const noexcept { return needs_model_; }

 private:
  std::vector<config::route> routes_;
  bool needs_model_ = false;
};

}  // namespace modelgate::proxy
