#pragma once
// One request/response exchange on a downstream connection.

#include "proxy/http/downstream.hpp"

#include <boost/asio/awaitable.hpp>

namespace modelgate::proxy {

class worker;

/// Reads one request from `d` (its first bytes are buffered), routes it, forwards it and relays
/// the response, or answers with an error. Records metrics and the access log line.
/// Returns true when the connection may carry another request.
asio::awaitable<bool> exchange(worker& w, downstream& d);

}  // namespace modelgate::proxy
