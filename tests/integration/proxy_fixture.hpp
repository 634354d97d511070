#pragma once
// Per-test set-up for integration tests: a temp dir with fresh certificates, a fake upstream,
// and the real modelgate binary started on demand with a config pointing at that upstream.

#include <gtest/gtest.h>

#include <memory>

#include "tests/support/cert_maker.hpp"
#include "tests/support/fake_upstream.hpp"
#include "tests/support/find_program.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/prometheus_text.hpp"
#include "tests/support/proxy_config.hpp"
#include "tests/support/proxy_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/wait.hpp"

#ifndef MODELGATE_BIN
#error "MODELGATE_BIN must name the modelgate binary"
#endif

namespace ts = modelgate::test_support;
namespace http = boost::beast::http;
using namespace std::chrono_literals;

class ProxyTest : public ::testing::Test {
 protected:
  /// TLS listener, 2 workers, route /v1/ → the fake upstream.
  ts::proxy_config config() const {
    ts::proxy_config c;
    c.backends = {upstream.address()};
    return c;
  }

  void start(const ts::proxy_config& c) {
    proxy = std::make_unique<ts::proxy_process>(MODELGATE_BIN, dir, c.to_yaml());
  }
  void start() { start(config()); }

  /// A verified TLS connection to listener 0.
  ts::http_client client() const {
    return ts::http_client::connect_tls(proxy->listener_port(0), certs.ca_cert);
  }

  std::string metrics() const { return proxy->admin_get("/metrics"); }
  double metric(std::string_view name) const {
    return ts::metric_sum(metrics(), name).value_or(0.0);
  }

  ts::temp_dir dir;
  ts::cert_files certs = ts::make_test_certs(dir.path());
  ts::fake_upstream upstream;
  std::unique_ptr<ts::proxy_process> proxy;  // declared last: stopped before the upstream
};
