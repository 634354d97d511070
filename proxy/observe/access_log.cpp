#include "proxy/observe/access_log.hpp"

#include <spdlog/async.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <ctime>

namespace modelgate::proxy {

void append_json_escaped(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 0xf];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
}

namespace {

void field(std::string& out, const char* name, std::string_view value) {
  out += ",\"";
  out += name;
  out += "\":\"";
  append_json_escaped(out, value);
  out += '"';
}

void iso8601(std::string& out, std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  out.append(buf, n);
  n = static_cast<std::size_t>(std::snprintf(buf, sizeof buf, ".%03dZ", static_cast<int>(ms % 1000)));
  out.append(buf, n);
}

}  // namespace

std::string format_access_record(const access_record& r) {
  std::string out;
  out.reserve(256);
  out += "{\"time\":\"";
  iso8601(out, r.time);
  out += '"';
  field(out, "request_id", r.request_id);
  field(out, "client", r.client_ip);
  field(out, "method", r.method);
  field(out, "path", r.path);
  field(out, "route", r.route);
  out += ",\"status\":" + std::to_string(r.status);
  out += ",\"bytes_in\":" + std::to_string(r.bytes_in);
  out += ",\"bytes_out\":" + std::to_string(r.bytes_out);
  char num[64];
  std::snprintf(num, sizeof num, ",\"duration_s\":%.6f", r.duration_s);
  out += num;
  field(out, "upstream", r.upstream);
  if (r.upstream_ttfb_s >= 0) {
    std::snprintf(num, sizeof num, ",\"upstream_ttfb_s\":%.6f", r.upstream_ttfb_s);
    out += num;
  } else {
    out += ",\"upstream_ttfb_s\":null";
  }
  if (!r.error.empty()) field(out, "error", r.error);
  out += '}';
  return out;
}

access_log::access_log(const config::access_log& cfg) {
  using target = config::access_log::target;
  if (cfg.kind == target::off) return;
  spdlog::init_thread_pool(8192, 1);
  spdlog::sink_ptr sink;
  switch (cfg.kind) {
    case target::stdout_stream: sink = std::make_shared<spdlog::sinks::stdout_sink_mt>(); break;
    case target::stderr_stream: sink = std::make_shared<spdlog::sinks::stderr_sink_mt>(); break;
    default:
      try {
        sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(cfg.path.string());
      } catch (const spdlog::spdlog_ex& e) {
        throw std::runtime_error("access_log: cannot open " + cfg.path.string() + ": " + e.what());
      }
  }
  logger_ = std::make_shared<spdlog::async_logger>("access", sink, spdlog::thread_pool(),
                                                   spdlog::async_overflow_policy::block);
  logger_->set_pattern("%v");
  logger_->flush_on(spdlog::level::info);
}

access_log::~access_log() { flush(); }

void access_log::write(const access_record& r) {
  if (logger_) logger_->info(format_access_record(r));
}

void access_log::flush() {
  if (logger_) logger_->flush();
}

}  // namespace modelgate::proxy
