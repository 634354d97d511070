#include "proxy/observe/proxy_metrics.hpp"

#include "metrics/exposition.hpp"

namespace modelgate::proxy {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

prometheus::Family<prometheus::Counter>& counter(prometheus::Registry& r, const char* name,
                                                 const char* help) {
  return BuildCounter().Name(name).Help(help).Register(r);
}
prometheus::Family<prometheus::Gauge>& gauge(prometheus::Registry& r, const char* name,
                                             const char* help) {
  return BuildGauge().Name(name).Help(help).Register(r);
}

}  // namespace

proxy_metrics::proxy_metrics(const config::proxy_config& cfg,
                             std::shared_ptr<prometheus::Registry> reg)
    : downstream_active(gauge(*reg, "modelgate_downstream_connections",
                              "Open client connections")
                            .Add({})),
      downstream_accepted(counter(*reg, "modelgate_downstream_connections_total",
                                  "Client connections accepted")
                              .Add({})),
      downstream_rejected(counter(*reg, "modelgate_downstream_connections_rejected_total",
                                  "Client connections closed at once because max_connections was reached")
                              .Add({})),
      downstream_rejected_per_ip(
          counter(*reg, "modelgate_downstream_connections_rejected_per_ip_total",
                  "Client connections closed at once because their address had "
                  "limits.max_connections_per_ip open")
              .Add({})),
      tls_handshake_failures(counter(*reg, "modelgate_tls_handshake_failures_total",
                                     "Client TLS handshakes that failed or timed out")
                                 .Add({})),
      bytes_received(counter(*reg, "modelgate_received_bytes_total",
                             "Request bytes received from clients (headers and body)")
                         .Add({})),
      bytes_sent(counter(*reg, "modelgate_sent_bytes_total",
                         "Response body bytes relayed or sent to clients")
                     .Add({})),
      client_aborts(counter(*reg, "modelgate_client_aborts_total",
                            "Requests or responses cut short because the client went away "
                            "(mid-response, the upstream request is aborted too)")
                        .Add({})),
      upstream_aborts(counter(*reg, "modelgate_upstream_aborts_total",
                              "Responses cut short because the upstream failed mid-body")
                          .Add({})),
      registry_(std::move(reg)),
      errors_(counter(*registry_, "modelgate_errors_total",
                      "Requests answered with a proxy-generated error, by kind")) {
  auto& requests = counter(*registry_, "modelgate_requests_total",
                           "Requests by route, pool and response status class");
  auto& duration = BuildHistogram()
                       .Name("modelgate_request_duration_seconds")
                       .Help("Time from the request's first byte to the response's last byte")
                       .Register(*registry_);
  auto& ttfb = BuildHistogram()
                   .Name("modelgate_upstream_ttfb_seconds")
                   .Help("Time from sending the request upstream to its response headers")
                   .Register(*registry_);
  auto& retries = counter(*registry_, "modelgate_upstream_retries_total",
                          "Upstream attempts repeated on another connection or backend");
  auto& open = gauge(*registry_, "modelgate_upstream_connections",
                     "Open connections to upstream backends (in use and idle)");
  auto& failures = counter(*registry_, "modelgate_upstream_connect_failures_total",
                           "Failed or timed-out connection attempts to a backend");

  auto& picks = counter(*registry_, "modelgate_upstream_picks_total",
                        "Requests the balancer sent to a backend (retries included)");
  auto& ejections = counter(*registry_, "modelgate_upstream_ejections_total",
                            "Times passive outlier detection ejected a backend");
  auto& backend_retries = counter(*registry_, "modelgate_upstream_failed_attempts_total",
                                  "Attempts on a backend that failed (connect failure, reset, invalid "
                                  "response, response timeout or 5xx), retried or not");
  auto& in_flight = gauge(*registry_, "modelgate_upstream_in_flight",
                          "Requests this proxy has in flight to a backend");
  auto& queue_depth = gauge(*registry_, "modelgate_upstream_reported_queue_depth",
                            "Queue depth the backend last reported (0 when stale or never)");
  auto& healthy = gauge(*registry_, "modelgate_upstream_healthy",
                        "1 when the backend passes active checks and is not ejected");

  static constexpr const char* classes[] = {"none", "1xx", "2xx", "3xx", "4xx", "5xx"};
  auto make_route = [&](const std::string& name, const std::string& pool) {
    route_handles h;
    for (std::size_t c = 0; c < h.by_class.size(); ++c)
      h.by_class[c] = &requests.Add({{"route", name}, {"pool", pool}, {"code", classes[c]}});
    h.duration = &duration.Add({{"route", name}}, metrics::latency_buckets());
    return h;
  };
  for (const auto& r : cfg.routes) routes_.push_back(make_route(r.name, r.pool));
  routes_.push_back(make_route("", ""));

  for (const auto& p : cfg.pools) {
    pool_handles h;
    h.ttfb = &ttfb.Add({{"pool", p.name}}, metrics::latency_buckets());
    h.retries = &retries.Add({{"pool", p.name}});
    h.upstream.open_connections = &open.Add({{"pool", p.name}});
    for (const auto& b : p.backends) {
      const prometheus::Labels labels{{"pool", p.name}, {"backend", b.label()}};
      h.upstream.connect_failures.push_back(&failures.Add(labels));
      h.backends.push_back({&picks.Add(labels), &ejections.Add(labels), &backend_retries.Add(labels),
                            &in_flight.Add(labels), &queue_depth.Add(labels), &healthy.Add(labels)});
    }
    pools_.push_back(std::move(h));
  }
}

void proxy_metrics::count_error(std::string_view label) {
  errors_.Add({{"kind", std::string(label)}}).Increment();
}

}  // namespace modelgate::proxy
