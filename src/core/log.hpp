// Structured logs: one line per record with a time, a level, a component, a short lowercase
// message and key/value fields, written as JSON lines or logfmt to stderr. Records go through
// spdlog's thread-safe sink, so any thread may log.
//
// Never pass a token or any other secret as a field; there is no redaction pass behind you.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>

namespace homeostat::core {

enum class LogFormat { kJson, kLogfmt };
enum class LogLevel { kDebug, kInfo, kWarn, kError };

// Parses "json"/"logfmt" and "debug"/"info"/"warn"/"error"; returns false for anything else.
bool parse_log_format(std::string_view text, LogFormat* out);
bool parse_log_level(std::string_view text, LogLevel* out);

// One key/value pair of a log record. Holds views: it must not outlive the call it is passed to.
class LogField {
 public:
  enum class Kind { kString, kInt, kDouble, kBool };

  LogField(std::string_view key, std::string_view v) : key_(key), kind_(Kind::kString), s_(v) {}
  LogField(std::string_view key, const char* v) : key_(key), kind_(Kind::kString), s_(v) {}
  LogField(std::string_view key, const std::string& v) : key_(key), kind_(Kind::kString), s_(v) {}
  LogField(std::string_view key, bool v) : key_(key), kind_(Kind::kBool), i_(v ? 1 : 0) {}
  LogField(std::string_view key, double v) : key_(key), kind_(Kind::kDouble), d_(v) {}
  template <typename T, typename = std::enable_if_t<std::is_integral_v<T>>>
  LogField(std::string_view key, T v) : key_(key), kind_(Kind::kInt), i_(static_cast<int64_t>(v)) {}

  std::string_view key() const { return key_; }
  Kind kind() const { return kind_; }
  std::string_view str() const { return s_; }
  int64_t integer() const { return i_; }
  double real() const { return d_; }

 private:
  std::string_view key_;
  Kind kind_;
  std::string_view s_;
  int64_t i_ = 0;
  double d_ = 0;
};

using LogFields = std::initializer_list<LogField>;

// Sets the format and the lowest level written. Call once at start-up, before other threads log.
void configure_logging(LogFormat format, LogLevel level);

// True when records of `level` are written; check it before building an expensive field.
bool log_enabled(LogLevel level);

// Renders one record as a line without the trailing newline; exposed for tests.
std::string render_log_line(LogFormat format, int64_t time_ms, LogLevel level,
                            std::string_view component, std::string_view message, LogFields fields);

// A named source of log records ("api", "store", ...). Cheap to copy; thread-safe.
class Logger {
 public:
  explicit Logger(std::string_view component) : component_(component) {}

  void debug(std::string_view msg, LogFields fields = {}) const {
    write(LogLevel::kDebug, msg, fields);
  }
  void info(std::string_view msg, LogFields fields = {}) const {
    write(LogLevel::kInfo, msg, fields);
  }
  void warn(std::string_view msg, LogFields fields = {}) const {
    write(LogLevel::kWarn, msg, fields);
  }
  void error(std::string_view msg, LogFields fields = {}) const {
    write(LogLevel::kError, msg, fields);
  }

 private:
  void write(LogLevel level, std::string_view msg, LogFields fields) const;

  std::string_view component_;
};

}  // namespace homeostat::core
