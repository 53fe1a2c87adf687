#include "core/clock.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace homeostat::core {
namespace {

struct GoodTime {
  std::string text;
  int64_t ms;
};

// Expected values were worked out apart from the code under test (Python's datetime).
TEST(ParseRfc3339, ReadsValidDateTimesIncludingOffsetsAndFractions) {
  const std::vector<GoodTime> cases = {
      {"1970-01-01T00:00:00Z", 0},
      {"2026-12-03T16:32:35Z", 1796315555000},
      {"2026-12-03t16:32:35z", 1796315555000},
      {"2026-12-03T16:32:35.250+01:00", 1796311955250},
      {"2026-12-03T16:32:35-05:30", 1796335355000},
      {"2026-12-03T16:32:35+00:00", 1796315555000},
      {"2026-12-03T16:32:35-00:00", 1796315555000},
      {"2026-12-03T16:32:35.5Z", 1796315555500},
      {"2026-12-03T16:32:35.05Z", 1796315555050},
      {"2026-12-03T16:32:35.123456789Z", 1796315555123},
      {"2024-02-29T12:00:00Z", 1709208000000},
      {"2000-02-29T00:00:00Z", 951782400000},
      {"1969-12-31T23:59:59.500Z", -500},
      {"1900-03-01T00:00:00Z", -2203891200000},
      {"2038-01-19T03:14:08Z", 2147483648000},
      {"9999-12-31T23:59:59.999Z", 253402300799999},
      // A leap second is folded into the first instant of the next second.
      {"2016-12-31T23:59:60Z", 1483228800000},
  };
  for (const GoodTime& c : cases) {
    SCOPED_TRACE(c.text);
    const Result<int64_t> parsed = parse_rfc3339(c.text);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message();
    EXPECT_EQ(*parsed, c.ms);
  }
}

struct BadTime {
  std::string text;
  std::string why;  // a part of the message that says what is wrong
};

TEST(ParseRfc3339, RefusesMalformedTextAndImpossibleDatesNamingTheFault) {
  const std::vector<BadTime> cases = {
      {"", "expected YYYY-MM-DDTHH:MM:SS"},
      {"2026-12-03", "expected YYYY-MM-DDTHH:MM:SS"},
      {"26-12-03T16:32:35Z", "expected YYYY-MM-DDTHH:MM:SS"},
      {"2026/12/03T16:32:35Z", "expected YYYY-MM-DDTHH:MM:SS"},
      {"2026-12-03T16-32-35Z", "expected YYYY-MM-DDTHH:MM:SS"},
      {"2026-12-3T16:32:35Z", "expected YYYY-MM-DDTHH:MM:SS"},
      {"2026-12-03 16:32:35Z", "expected 'T'"},
      {"2023-02-29T00:00:00Z", "no such date"},
      {"1900-02-29T00:00:00Z", "no such date"},
      {"2026-04-31T00:00:00Z", "no such date"},
      {"2026-13-01T00:00:00Z", "no such date"},
      {"2026-00-10T00:00:00Z", "no such date"},
      {"2026-01-00T00:00:00Z", "no such date"},
      {"2026-01-01T24:00:00Z", "no such time of day"},
      {"2026-01-01T00:60:00Z", "no such time of day"},
      {"2026-01-01T00:00:61Z", "no such time of day"},
      {"2026-01-01T00:00:00", "missing the zone"},
      {"2026-01-01T00:00:00.Z", "'.' must be followed by digits"},
      {"2026-01-01T00:00:00+0100", "+HH:MM or -HH:MM"},
      {"2026-01-01T00:00:00+01", "+HH:MM or -HH:MM"},
      {"2026-01-01T00:00:00+24:00", "+HH:MM or -HH:MM"},
      {"2026-01-01T00:00:00+01:60", "+HH:MM or -HH:MM"},
      {"2026-01-01T00:00:00ZZ", "unexpected text after the zone"},
      {"2026-01-01T00:00:00Z ", "unexpected text after the zone"},
      {"2026-01-01T00:00:00+01:00:00", "unexpected text after the zone"},
  };
  for (const BadTime& c : cases) {
    SCOPED_TRACE(c.text);
    const Result<int64_t> parsed = parse_rfc3339(c.text);
    ASSERT_FALSE(parsed.ok()) << "parsed as " << *parsed;
    EXPECT_EQ(parsed.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(parsed.error().message().find(c.why), std::string::npos) << parsed.error().message();
  }
}

TEST(FormatRfc3339, WritesUtcWithSecondsOrMilliseconds) {
  EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339(1796315555250), "2026-12-03T16:32:35Z");
  EXPECT_EQ(format_rfc3339(1796315555250, true), "2026-12-03T16:32:35.250Z");
  EXPECT_EQ(format_rfc3339(1709208000007, true), "2024-02-29T12:00:00.007Z");
  EXPECT_EQ(format_rfc3339(253402300799999, true), "9999-12-31T23:59:59.999Z");
}

TEST(FormatRfc3339, RoundsTimesBeforeTheEpochDownToTheEarlierSecond) {
  EXPECT_EQ(format_rfc3339(-1, true), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(format_rfc3339(-1), "1969-12-31T23:59:59Z");
  EXPECT_EQ(format_rfc3339(-2203891200000), "1900-03-01T00:00:00Z");
}

TEST(FormatRfc3339, RoundTripsThroughParseAcrossCenturiesAndLeapDays) {
  // A step that is not a whole number of days or seconds visits every month, leap days and
  // times of day, from 1899 to 2101.
  const int64_t from = -2240524800000;  // 1899-01-01
  const int64_t to = 4133980800000;     // 2101-01-01
  const int64_t step = 86'400'000LL * 7 + 3'661'001;
  int checked = 0;
  for (int64_t ms = from; ms < to; ms += step) {
    const std::string text = format_rfc3339(ms, true);
    const Result<int64_t> back = parse_rfc3339(text);
    ASSERT_TRUE(back.ok()) << text << ": " << back.error().message();
    ASSERT_EQ(*back, ms) << text;
    ++checked;
  }
  EXPECT_GT(checked, 10000);
}

TEST(FormatRfc3339, WithoutMillisecondsRoundTripsToTheWholeSecond) {
  const Result<int64_t> back = parse_rfc3339(format_rfc3339(1796315555999));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, 1796315555000);
}

TEST(ManualClock, MovesOnlyWhenTold) {
  ManualClock clock(1000);
  EXPECT_EQ(clock.now_ms(), 1000);
  EXPECT_EQ(clock.now_ms(), 1000);
  clock.advance_ms(250);
  EXPECT_EQ(clock.now_ms(), 1250);
  clock.set_ms(10);
  EXPECT_EQ(clock.now_ms(), 10);
}

TEST(SystemClock, ReadsTheWallClockInMilliseconds) {
  using namespace std::chrono;
  const int64_t before =
      duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  const int64_t now = core::system_clock().now_ms();
  const int64_t after = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  EXPECT_LE(before, now);
  EXPECT_LE(now, after);
}

}  // namespace
}  // namespace homeostat::core
