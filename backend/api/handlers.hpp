#pragma once
// The backend's HTTP endpoints. Each handler answers on the connection and says how it ended.

#include "backend/api/connection.hpp"
#include "backend/api/openai.hpp"

#include <string>

namespace modelgate::backend {

/// Routes one request; sets `endpoint` to a fixed label for metrics.
asio::awaitable<outcome> handle_request(connection& c, const request& req, std::string& endpoint);

/// POST /v2/models/{name}/infer (classifier kind): queued for the dynamic batcher.
asio::awaitable<outcome> handle_infer(connection& c, const request& req);

/// POST /v1/completions and /v1/chat/completions (textgen kind): joins the decode batch and
/// answers whole or as server-sent events, one per token.
asio::awaitable<outcome> handle_completion(connection& c, const request& req,
                                           openai::api_kind kind);

/// 503 with Retry-After for a full queue (`full`) or a draining server (`closed`).
reply unavailable(connection& c, push_result why, bool openai_shape);

}  // namespace modelgate::backend
