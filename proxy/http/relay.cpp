#include "proxy/http/relay.hpp"

#include "proxy/http/header_rewrite.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

namespace modelgate::proxy {
namespace http = boost::beast::http;
namespace {
constexpr auto tok = asio::as_tuple(asio::use_awaitable);
}  // namespace

asio::awaitable<relay_outcome> relay_response(downstream& d, upstream_lease& lease,
                                              response_parser& rp, const relay_params& p,
                                              request_admission& admission, cache_stage& cache) {
  using end = relay_outcome::end;
  relay_outcome out;
  auto& res = rp.get();
  bool upstream_keep = res.keep_alive();
  const bool chunked = res.chunked();
  // No length and not chunked: the body ends when the upstream closes.
  const bool until_eof = !chunked && !res.has_content_length() && !rp.is_done();
  strip_hop_by_hop(res, chunked);
  bool keep = p.client_keep_alive && !p.draining;
  if (until_eof) {
    upstream_keep = false;
    if (p.client_version >= 11) res.chunked(true);
    else keep = false;
  }
  res.set("x-request-id", p.request_id);
  res.version(p.client_version >= 11 ? 11 : 10);
  res.keep_alive(keep);
  admission.on_response_header(res);
  cache.on_response_header(res);

  http::response_serializer<http::buffer_body> sr{res};
  d.deadline.expires_at(p.deadline);
  auto& up = *lease;
  // When body bytes already came with the header (or there is no body), the header goes out
  // with the first piece in one write: one send per small response instead of two (a third of
  // the proxy's sends, and most of its kernel time, under small-response load). Otherwise the
  // header goes at once, so a stream's client sees it before the first event.
  if (!rp.is_done() && up.buffer.size() == 0) {
    auto [hec, hn] = co_await http::async_write_header(d.stream, sr, tok);
    if (hec) {
      out.how = end::client_gone;
      co_return out;
    }
  }

  auto& body = res.body();
  do {
    if (!rp.is_done()) {
      body.data = up.relay_buffer.data();
      body.size = up.relay_buffer.size();
      up.deadline.expires_at(p.deadline);
      auto [rec, rn] = co_await http::async_read_some(up.stream, up.buffer, rp, tok);
      up.deadline.disarm();
      if (rec == http::error::need_buffer) rec = {};
      if (rec) {
        // Closing without the final chunk tells the client the response is incomplete.
        out.how = end::upstream_aborted;
        co_return out;
      }
      body.size = up.relay_buffer.size() - body.size;
      body.data = up.relay_buffer.data();
      body.more = !rp.is_done();
      admission.on_body(body.data, body.size);
      // A read may parse only a chunk header; an empty piece would end the chunked output.
      if (body.size == 0 && body.more) continue;
    } else {
      body.data = nullptr;
      body.size = 0;
      body.more = false;
    }
    // An empty last piece with data set would come out as an extra "0\r\n\r\n" chunk.
    if (body.size == 0) body.data = nullptr;
    out.bytes += body.size;
    const std::string_view piece(static_cast<const char*>(body.data), body.size);
    auto [wec, wn] = co_await http::async_write(d.stream, sr, tok);
    if (wec == http::error::need_buffer) wec = {};
    if (wec) {
      out.how = end::client_gone;
      co_return out;
    }
    cache.on_body_piece(piece);
  } while (!rp.is_done() || !sr.is_done());
  d.deadline.disarm();
  cache.on_response_complete();
  if (upstream_keep) lease.release();
  out.keep = keep;
  co_return out;
}

}  // namespace modelgate::proxy
