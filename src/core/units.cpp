#include "core/units.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <map>

namespace homeostat::core {
namespace {

// Splits "123abc" into 123 and "abc"; false when there is no leading number.
bool split_number(const std::string& text, double& number, std::string& unit) {
  const char* begin = text.data();
  const char* end = begin + text.size();
  const auto [ptr, ec] = std::from_chars(begin, end, number);
  // No "inf", "nan" or values past what the settings can hold (2^53: about 285,000 years of
  // milliseconds, or 8 PiB).
  if (ec != std::errc() || !std::isfinite(number) || number < 0 || number > 9.0e15 ||
      !std::isdigit(static_cast<unsigned char>(text.empty() ? 'x' : text[0]))) {
    return false;
  }
  unit.assign(ptr, end);
  return true;
}

}  // namespace

Result<int64_t> parse_duration_ms(const std::string& text) {
  double n = 0;
  std::string unit;
  if (!split_number(text, n, unit)) {
    return Error(ErrorCode::kInvalidArgument,
                 "\"" + text + "\" is not a duration such as 30d, 12h, 15m, 10s or 250ms");
  }
  static const std::map<std::string, double> kUnits = {
      {"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}};
  const auto it = kUnits.find(unit);
  if (it == kUnits.end()) {
    return Error(ErrorCode::kInvalidArgument,
                 "\"" + text + "\" has an unknown unit; use ms, s, m, h or d");
  }
  return static_cast<int64_t>(n * it->second);
}

Result<int64_t> parse_size_bytes(const std::string& text) {
  double n = 0;
  std::string unit;
  if (!split_number(text, n, unit)) {
    return Error(ErrorCode::kInvalidArgument,
                 "\"" + text + "\" is not a size such as 512, 256KiB, 10MiB or 1GiB");
  }
  static const std::map<std::string, double> kUnits = {
      {"", 1},     {"B", 1},    {"KiB", 1024.0}, {"MiB", 1048576.0}, {"GiB", 1073741824.0},
      {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}};
  const auto it = kUnits.find(unit);
  if (it == kUnits.end()) {
    return Error(ErrorCode::kInvalidArgument,
                 "\"" + text + "\" has an unknown unit; use B, KiB, MiB, GiB, KB, MB or GB");
  }
  return static_cast<int64_t>(n * it->second);
}

}  // namespace homeostat::core
