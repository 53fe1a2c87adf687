// Time as Homeostat sees it: milliseconds since the Unix epoch, read through a Clock so that
// tests can hold time still, and RFC 3339 text for everything people read.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace homeostat::core {

// A source of wall-clock time. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  // Returns milliseconds since 1970-01-01T00:00:00Z.
  virtual int64_t now_ms() const = 0;
};

// The system's real-time clock.
class SystemClock final : public Clock {
 public:
  int64_t now_ms() const override;
};

// A clock that only moves when told to; for tests.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_ms) : now_(start_ms) {}
  int64_t now_ms() const override { return now_.load(); }
  void set_ms(int64_t ms) { now_.store(ms); }
  void advance_ms(int64_t ms) { now_.fetch_add(ms); }

 private:
  std::atomic<int64_t> now_;
};

// Returns the process-wide system clock.
const Clock& system_clock();

// Parses an RFC 3339 date-time ("2026-12-03T16:32:35Z", "2026-12-03T16:32:35.250+01:00") into
// milliseconds since the epoch. Fractions finer than a millisecond are truncated. Accepts 't'
// and 'z' as RFC 3339 allows; refuses anything else, naming what is wrong.
Result<int64_t> parse_rfc3339(std::string_view text);

// Formats milliseconds since the epoch as UTC RFC 3339 with seconds ("2026-12-03T16:32:35Z");
// with_millis adds ".250" style fractions.
std::string format_rfc3339(int64_t ms, bool with_millis = false);

}  // namespace homeostat::core
