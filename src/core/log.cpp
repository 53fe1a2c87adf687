#include "core/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdio>
#include <memory>

#include "core/clock.hpp"
#include "core/json.hpp"

namespace homeostat::core {
namespace {

std::atomic<LogFormat> g_format{LogFormat::kLogfmt};
std::atomic<LogLevel> g_level{LogLevel::kInfo};

// The sink is made on first use so that logging works before configure_logging, in tests too.
spdlog::logger& sink() {
  static const std::shared_ptr<spdlog::logger> kLogger = [] {
    auto l = std::make_shared<spdlog::logger>("homeostat",
                                              std::make_shared<spdlog::sinks::stderr_sink_mt>());
    l->set_pattern("%v");
    l->set_level(spdlog::level::trace);
    l->flush_on(spdlog::level::trace);
    return l;
  }();
  return *kLogger;
}

const char* level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

// logfmt values are bare when they hold no space, quote or '='; otherwise quoted like JSON.
void append_logfmt_string(std::string& out, std::string_view s) {
  bool bare = !s.empty();
  for (const char c : s) {
    if (c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x21) {
      bare = false;
      break;
    }
  }
  if (bare) {
    out += s;
  } else {
    append_json_string(out, s);
  }
}

void append_value(std::string& out, LogFormat format, const LogField& f) {
  switch (f.kind()) {
    case LogField::Kind::kString:
      if (format == LogFormat::kJson) {
        append_json_string(out, f.str());
      } else {
        append_logfmt_string(out, f.str());
      }
      break;
    case LogField::Kind::kInt:
      out += std::to_string(f.integer());
      break;
    case LogField::Kind::kDouble: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.6g", f.real());
      out += buf;
      break;
    }
    case LogField::Kind::kBool:
      out += f.integer() != 0 ? "true" : "false";
      break;
  }
}

}  // namespace

bool parse_log_format(std::string_view text, LogFormat* out) {
  if (text == "json") {
    *out = LogFormat::kJson;
  } else if (text == "logfmt") {
    *out = LogFormat::kLogfmt;
  } else {
    return false;
  }
  return true;
}

bool parse_log_level(std::string_view text, LogLevel* out) {
  for (const LogLevel l : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    if (text == level_name(l)) {
      *out = l;
      return true;
    }
  }
  return false;
}

void configure_logging(LogFormat format, LogLevel level) {
  g_format.store(format);
  g_level.store(level);
}

bool log_enabled(LogLevel level) {
  return level >= g_level.load(std::memory_order_relaxed);
}

std::string render_log_line(LogFormat format, int64_t time_ms, LogLevel level,
                            std::string_view component, std::string_view message,
                            LogFields fields) {
  std::string out;
  out.reserve(128);
  const std::string ts = format_rfc3339(time_ms, true);
  const LogField fixed[] = {
      {"ts", ts}, {"level", level_name(level)}, {"component", component}, {"msg", message}};
  out += format == LogFormat::kJson ? "{" : "";
  bool first = true;
  auto emit = [&](const LogField& f) {
    if (!first) {
      out += format == LogFormat::kJson ? "," : " ";
    }
    first = false;
    if (format == LogFormat::kJson) {
      append_json_string(out, f.key());
      out.push_back(':');
    } else {
      out += f.key();
      out.push_back('=');
    }
    append_value(out, format, f);
  };
  for (const LogField& f : fixed) {
    emit(f);
  }
  for (const LogField& f : fields) {
    emit(f);
  }
  out += format == LogFormat::kJson ? "}" : "";
  return out;
}

void Logger::write(LogLevel level, std::string_view msg, LogFields fields) const {
  if (!log_enabled(level)) {
    return;
  }
  const std::string line = render_log_line(g_format.load(std::memory_order_relaxed),
                                           system_clock().now_ms(), level, component_, msg, fields);
  sink().info(line);
}

}  // namespace homeostat::core
