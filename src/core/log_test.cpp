#include "core/log.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

namespace homeostat::core {
namespace {

constexpr int64_t kTimeMs = 1796315555250;  // 2026-12-03T16:32:35.250Z

// Puts the process-wide settings back to their defaults when a test that changed them ends.
class Logging : public ::testing::Test {
 protected:
  void TearDown() override { configure_logging(LogFormat::kLogfmt, LogLevel::kInfo); }
};

TEST(ParseLogFormat, AcceptsJsonAndLogfmtOnly) {
  LogFormat format = LogFormat::kLogfmt;
  EXPECT_TRUE(parse_log_format("json", &format));
  EXPECT_EQ(format, LogFormat::kJson);
  EXPECT_TRUE(parse_log_format("logfmt", &format));
  EXPECT_EQ(format, LogFormat::kLogfmt);
  for (const char* bad : {"", "JSON", "text", "logfmt "}) {
    EXPECT_FALSE(parse_log_format(bad, &format)) << bad;
  }
  EXPECT_EQ(format, LogFormat::kLogfmt) << "a refused name must leave the output alone";
}

TEST(ParseLogLevel, AcceptsTheFourLevelNamesOnly) {
  LogLevel level = LogLevel::kInfo;
  const std::pair<const char*, LogLevel> good[] = {{"debug", LogLevel::kDebug},
                                                   {"info", LogLevel::kInfo},
                                                   {"warn", LogLevel::kWarn},
                                                   {"error", LogLevel::kError}};
  for (const auto& [name, want] : good) {
    EXPECT_TRUE(parse_log_level(name, &level)) << name;
    EXPECT_EQ(level, want) << name;
  }
  for (const char* bad : {"", "warning", "INFO", "trace", "fatal"}) {
    EXPECT_FALSE(parse_log_level(bad, &level)) << bad;
  }
}

TEST(RenderLogLine, WritesLogfmtWithFixedFieldsFirst) {
  const std::string line =
      render_log_line(LogFormat::kLogfmt, kTimeMs, LogLevel::kWarn, "bus", "commit failed",
                      {{"records", 3}, {"ok", false}, {"ratio", 0.5}, {"path", "/v1/events"}});
  EXPECT_EQ(line,
            "ts=2026-12-03T16:32:35.250Z level=warn component=bus msg=\"commit failed\" "
            "records=3 ok=false ratio=0.5 path=/v1/events");
}

TEST(RenderLogLine, QuotesLogfmtValuesThatWouldOtherwiseBeAmbiguous) {
  const std::string line = render_log_line(
      LogFormat::kLogfmt, kTimeMs, LogLevel::kInfo, "api", "request",
      {{"empty", ""}, {"eq", "a=b"}, {"quote", "say \"hi\""}, {"tab", "a\tb"}, {"bare", "a.b-c"}});
  EXPECT_EQ(line,
            "ts=2026-12-03T16:32:35.250Z level=info component=api msg=request "
            "empty=\"\" eq=\"a=b\" quote=\"say \\\"hi\\\"\" tab=\"a\\tb\" bare=a.b-c");
}

TEST(RenderLogLine, WritesOneJsonObjectWithTypedValuesInOrder) {
  const std::string line = render_log_line(
      LogFormat::kJson, kTimeMs, LogLevel::kError, "store", "write failed",
      {{"error", "disk \"full\"\n"}, {"attempt", int64_t{-3}}, {"retry", true}, {"load", 1.25}});
  EXPECT_EQ(line, R"({"ts":"2026-12-03T16:32:35.250Z","level":"error","component":"store",)"
                  R"("msg":"write failed","error":"disk \"full\"\n","attempt":-3,"retry":true,)"
                  R"("load":1.25})");
  boost::system::error_code ec;
  const boost::json::value parsed = boost::json::parse(line, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(parsed.at("error").as_string(), "disk \"full\"\n");
}

TEST_F(Logging, LogEnabledFollowsTheConfiguredLevel) {
  configure_logging(LogFormat::kLogfmt, LogLevel::kWarn);
  EXPECT_FALSE(log_enabled(LogLevel::kDebug));
  EXPECT_FALSE(log_enabled(LogLevel::kInfo));
  EXPECT_TRUE(log_enabled(LogLevel::kWarn));
  EXPECT_TRUE(log_enabled(LogLevel::kError));

  configure_logging(LogFormat::kLogfmt, LogLevel::kDebug);
  EXPECT_TRUE(log_enabled(LogLevel::kDebug));
}

TEST_F(Logging, LoggerWritesEnabledRecordsToStderrInTheConfiguredFormat) {
  configure_logging(LogFormat::kJson, LogLevel::kInfo);
  const Logger log("unit");
  ::testing::internal::CaptureStderr();
  log.debug("hidden", {{"n", 1}});
  log.info("shown", {{"n", 2}});
  const std::string written = ::testing::internal::GetCapturedStderr();

  EXPECT_EQ(written.find("hidden"), std::string::npos) << written;
  ASSERT_FALSE(written.empty());
  EXPECT_EQ(written.back(), '\n');
  boost::system::error_code ec;
  const boost::json::value parsed = boost::json::parse(written, ec);
  ASSERT_FALSE(ec) << ec.message() << ": " << written;
  EXPECT_EQ(parsed.at("component").as_string(), "unit");
  EXPECT_EQ(parsed.at("level").as_string(), "info");
  EXPECT_EQ(parsed.at("msg").as_string(), "shown");
  EXPECT_EQ(parsed.at("n").as_int64(), 2);
}

}  // namespace
}  // namespace homeostat::core
