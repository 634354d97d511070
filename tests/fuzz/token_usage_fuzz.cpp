// Usage parsers that read model responses for token quotas: a JSON body, and an SSE stream fed
// in pieces split at arbitrary points. Splitting must not change what the scanner finds.

#include "proxy/quota/token_usage.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)modelgate::quota::usage_total_tokens(text);

  modelgate::quota::sse_usage_scanner whole(4096), pieces(4096);
  whole.feed(text);
  whole.finish();
  // Split at positions derived from the input itself, so the fuzzer explores the splits too.
  std::size_t at = 0, step = size > 0 ? 1 + data[0] % 7 : 1;
  while (at < size) {
    pieces.feed(text.substr(at, step));
    at += step;
    step = 1 + (step * 5 + 3) % 11;
  }
  pieces.finish();
  if (whole.total_tokens() != pieces.total_tokens() || whole.events() != pieces.events())
    std::abort();
  return 0;
}
