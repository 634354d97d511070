#pragma once
// The completion handler every co_spawn gets: an exception that escaped a coroutine is logged
// (never silently dropped, never rethrown into the event loop).

#include <spdlog/spdlog.h>

#include <exception>
#include <string_view>

namespace modelgate::proxy {

/// A co_spawn completion handler logging "<what>: <exception message>". `what` must outlive the
/// coroutine (a string literal).
inline auto log_escaped(std::string_view what) {
  return [what](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      spdlog::error("{}: {}", what, ex.what());
    } catch (...) {
      spdlog::error("{}: unknown exception", what);
    }
  };
}

}  // namespace modelgate::proxy
