#include "core/clock.hpp"

#include <chrono>
#include <cstdio>

namespace homeostat::core {
namespace {

// Days from 1970-01-01 to the given civil date (proleptic Gregorian); Howard Hinnant's
// well-known days_from_civil algorithm, written out from its published description.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

struct Civil {
  int64_t year;
  unsigned month;
  unsigned day;
};

Civil civil_from_days(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0), m, d};
}

bool is_leap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned days_in_month(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

// Reads exactly `n` digits at `pos`; returns -1 when any is not a digit.
int read_digits(std::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size()) {
    return -1;
  }
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') {
      return -1;
    }
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

Error bad_time(std::string_view why) {
  return {ErrorCode::kInvalidArgument, "not an RFC 3339 date-time: " + std::string(why)};
}

}  // namespace

int64_t SystemClock::now_ms() const {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

const Clock& system_clock() {
  static const SystemClock kClock;
  return kClock;
}

Result<int64_t> parse_rfc3339(std::string_view s) {
  // The fixed part: YYYY-MM-DDTHH:MM:SS.
  const int year = read_digits(s, 0, 4);
  const int month = read_digits(s, 5, 2);
  const int day = read_digits(s, 8, 2);
  const int hour = read_digits(s, 11, 2);
  const int minute = read_digits(s, 14, 2);
  const int second = read_digits(s, 17, 2);
  if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0 || s[4] != '-' ||
      s[7] != '-' || s[13] != ':' || s[16] != ':') {
    return bad_time("expected YYYY-MM-DDTHH:MM:SS followed by Z or an offset");
  }
  if (s[10] != 'T' && s[10] != 't') {
    return bad_time("expected 'T' between the date and the time");
  }
  if (month < 1 || month > 12 || day < 1 ||
      static_cast<unsigned>(day) > days_in_month(year, static_cast<unsigned>(month))) {
    return bad_time("no such date");
  }
  // A leap second (":60") is accepted and folded into the next second's first instant.
  if (hour > 23 || minute > 59 || second > 60) {
    return bad_time("no such time of day");
  }

  // An optional fraction; digits past milliseconds are read and dropped.
  size_t pos = 19;
  int64_t millis = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    const size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (pos - start < 3) {
        millis = millis * 10 + (s[pos] - '0');
      }
      ++pos;
    }
    if (pos == start) {
      return bad_time("a '.' must be followed by digits");
    }
    for (size_t i = pos - start; i < 3; ++i) {
      millis *= 10;
    }
  }

  // The zone: Z or +HH:MM / -HH:MM.
  int64_t offset_minutes = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    const int oh = read_digits(s, pos + 1, 2);
    const int om = read_digits(s, pos + 4, 2);
    if (oh < 0 || om < 0 || s[pos + 3] != ':' || oh > 23 || om > 59) {
      return bad_time("the offset must be +HH:MM or -HH:MM");
    }
    offset_minutes = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return bad_time("missing the zone (Z or +HH:MM)");
  }
  if (pos != s.size()) {
    return bad_time("unexpected text after the zone");
  }

  const int64_t days =
      days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
  return seconds * 1000 + millis;
}

std::string format_rfc3339(int64_t ms, bool with_millis) {
  int64_t seconds = ms / 1000;
  int64_t millis = ms % 1000;
  if (millis < 0) {
    millis += 1000;
    seconds -= 1;
  }
  int64_t days = seconds / 86400;
  int64_t rem = seconds % 86400;
  if (rem < 0) {
    rem += 86400;
    days -= 1;
  }
  const Civil c = civil_from_days(days);
  char buf[40];
  const int n =
      with_millis
          ? std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ",
                          static_cast<long long>(c.year), c.month, c.day,
                          static_cast<long long>(rem / 3600), static_cast<long long>(rem / 60 % 60),
                          static_cast<long long>(rem % 60), static_cast<long long>(millis))
          : std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ",
                          static_cast<long long>(c.year), c.month, c.day,
                          static_cast<long long>(rem / 3600), static_cast<long long>(rem / 60 % 60),
                          static_cast<long long>(rem % 60));
  return {buf, static_cast<size_t>(n)};
}

}  // namespace homeostat::core
