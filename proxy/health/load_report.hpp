#pragma once
// Parsers for the queue depth backends report: the ORCA text header that modelgate-backend sends
// on every response, and a metric scraped from a Prometheus text page (vLLM, TGI, Triton, ...).
// Pure and total: malformed input gives nullopt, never an exception.

#include <optional>
#include <string_view>

namespace modelgate::proxy {

/// `named_metrics.queue_depth` from an ORCA text report such as
/// "TEXT named_metrics.queue_depth=3,named_metrics.in_flight=1" (the "TEXT " prefix is optional).
/// nullopt when absent, negative, not a finite number, or the header is malformed.
std::optional<double> orca_queue_depth(std::string_view header);

/// The sum of every sample of `metric` (any labels) in Prometheus text exposition format; nullopt
/// when the page has no such sample or a sample of it is malformed. Comments and other metrics are
/// skipped; `metric` must match the sample name exactly (so "x" does not match "x_total").
std::optional<double> prometheus_sum(std::string_view page, std::string_view metric);

}  // namespace modelgate::proxy
