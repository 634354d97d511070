// modelgate: command line only. Parse flags, load the config, run the server.

#include "config/loader.hpp"
#include "proxy/http/tls_context.hpp"
#include "proxy/quota/key_table.hpp"
#include "proxy/server.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>

#ifndef MODELGATE_VERSION
#define MODELGATE_VERSION "0.0.0"
#endif

namespace {

// TLS files are parsed here too, so --check-config catches a key that does not match its cert.
void check_tls(const modelgate::config::proxy_config& cfg) {
  for (std::size_t i = 0; i < cfg.listeners.size(); ++i) {
    if (!cfg.listeners[i].tls) continue;
    try {
      modelgate::proxy::make_server_tls(*cfg.listeners[i].tls);
    } catch (const std::exception& e) {
      throw std::runtime_error(cfg.source.string() + ": key 'listeners[" + std::to_string(i) +
                               "].tls': " + e.what());
    }
  }
  for (const auto& p : cfg.pools) {
    for (std::size_t b = 0; b < p.backends.size(); ++b) {
      if (!p.backends[b].tls) continue;
      try {
        modelgate::proxy::make_upstream_tls(*p.backends[b].tls);
      } catch (const std::exception& e) {
        throw std::runtime_error(cfg.source.string() + ": pool '" + p.name + "' backend " +
                                 p.backends[b].address.str() + ": " + e.what());
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"modelgate: a TLS reverse proxy and load balancer for model-serving backends"};
  std::string config_path, check_path;
  bool version = false;
  app.add_option("--config", config_path, "Run the proxy with this YAML file");
  app.add_option("--check-config", check_path, "Validate this YAML file and exit (0: valid)");
  app.add_flag("--version", version, "Print the version and exit");
  std::string raw_key;
  auto* hash_key = app.add_subcommand(
      "hash-key", "Print the SHA-256 (hex) of an API key, for auth.keys[].sha256");
  hash_key->add_option("KEY", raw_key, "The key; '-' reads it from stdin (keeps it out of shell history)")
      ->required();
  CLI11_PARSE(app, argc, argv);

  if (*hash_key) {
    if (raw_key == "-" && !std::getline(std::cin, raw_key)) return 2;
    std::cout << modelgate::quota::hash_key(raw_key) << "\n";
    return 0;
  }

  if (version) {
    std::cout << "modelgate " << MODELGATE_VERSION << "\n";
    return 0;
  }
  // Diagnostics go to stderr; stdout is left to the access log.
  spdlog::set_default_logger(spdlog::stderr_color_mt("modelgate"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  try {
    if (!check_path.empty()) {
      auto cfg = modelgate::config::load_config(check_path);
      check_tls(cfg);
      std::cout << "config OK: " << check_path << " (" << cfg.listeners.size() << " listeners, "
                << cfg.pools.size() << " pools, " << cfg.routes.size() << " routes)\n";
      return 0;
    }
    if (config_path.empty()) {
      std::cerr << "modelgate: give --config PATH (or --check-config PATH); see --help\n";
      return 2;
    }
    auto cfg = modelgate::config::load_config(config_path);
    check_tls(cfg);
    modelgate::proxy::server server(std::move(cfg));
    return server.run();
  } catch (const modelgate::config::config_error& e) {
    std::cerr << "modelgate: config error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "modelgate: " << e.what() << "\n";
    return 1;
  }
}
