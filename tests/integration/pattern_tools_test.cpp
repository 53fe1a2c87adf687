// The pattern tools as a user meets them: `homeostat pattern test`, `homeostat pattern match`
// (the real binary, no daemon) and POST /v1/test-event-pattern on a real daemon.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <boost/json.hpp>
#include <cstdio>
#include <fstream>

#include "support/cli_run.hpp"
#include "support/daemon_process.hpp"

namespace homeostat::testing {
namespace {

namespace json = boost::json;

struct Run {
  int code = -1;
  std::string out;
  std::string err;
};

// Runs the homeostat binary with `args` (shell syntax), capturing stdout and stderr.
Run run(const TempDir& dir, const std::string& args) {
  const std::string err_file = dir.path() + "/stderr";
  const CliRun cli = run_homeostat(args + " 2>" + err_file);
  Run r;
  r.code = cli.code;
  r.out = cli.out;
  r.err = read_file(err_file);
  return r;
}

std::string write(const TempDir& dir, const std::string& name, const std::string& text) {
  const std::string path = dir.path() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

const char* kAlarm = R"({"source":"aws.cloudwatch","detail-type":"CloudWatch Alarm State Change",)"
                     R"("detail":{"alarmName":"cpu-high","state":{"value":"ALARM"}}})";
const char* kOk = R"({"source":"aws.cloudwatch","detail-type":"CloudWatch Alarm State Change",)"
                  R"("detail":{"alarmName":"cpu-high","state":{"value":"OK"}}})";

TEST(PatternTest, PrintsTrueAndExitsZeroWhenTheEventMatches) {
  TempDir dir;
  const auto r = run(dir, R"(pattern test --pattern '{"detail":{"state":{"value":["ALARM"]}}}' )"
                          R"(--event ')" +
                              std::string(kAlarm) + "'");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "true\n");
}

TEST(PatternTest, PrintsOneLinePerEventAndExitsOneWhenOneDidNotMatch) {
  TempDir dir;
  const auto events = write(dir, "events.jsonl", std::string(kAlarm) + "\n\n" + kOk + "\n");
  const auto pattern = write(dir, "p.json", R"({"detail":{"state":{"value":["ALARM"]}}})");
  const auto r = run(dir, "pattern test --pattern @" + pattern + " --events " + events);
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_EQ(r.out, "true\nfalse\n");
}

TEST(PatternTest, ExitsTwoWithTheReasonWhenThePatternIsInvalid) {
  TempDir dir;
  const auto r =
      run(dir, R"(pattern test --pattern '{"detail":{"severity":[{"numeric":[">>",1]}]}}' )"
               R"(--event '{}')");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("detail.severity[0].numeric[0]: \">>\" is not a numeric operator"),
            std::string::npos)
      << r.err;
}

TEST(PatternTest, ExitsTwoNamingTheLineOfAnEventThatIsNotJson) {
  TempDir dir;
  const auto events = write(dir, "events.jsonl", std::string(kAlarm) + "\n[1]\n");
  const auto r =
      run(dir, R"(pattern test --pattern '{"source":["aws.cloudwatch"]}' --events )" + events);
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.out, "true\n");
  EXPECT_NE(r.err.find("events.jsonl line 2: the event is not a JSON object"), std::string::npos)
      << r.err;
}

TEST(PatternMatch, PrintsTheIdsOfMatchingPatternsInTheirGivenOrder) {
  TempDir dir;
  const auto patterns =
      write(dir, "patterns.jsonl",
            R"({"id":"all-alarms","pattern":{"detail":{"state":{"value":["ALARM"]}}}})"
            "\n"
            R"({"id":"cpu","pattern":{"detail":{"alarmName":[{"prefix":"cpu"}]}}})"
            "\n"
            R"({"id":"ec2","pattern":{"source":["aws.ec2"]}})"
            "\n");
  const auto events = write(dir, "events.jsonl",
                            std::string(kAlarm) + "\n" + kOk + "\n" + R"({"source":"x"})" + "\n");
  const auto r =
      run(dir, "pattern match --patterns " + patterns + " --events " + events + " --stats");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "all-alarms,cpu\ncpu\n\n");
  EXPECT_NE(r.err.find("rules: 3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("events/s"), std::string::npos) << r.err;
}

TEST(PatternMatch, RefusesARuleSetWithAnInvalidPatternOrARepeatedId) {
  TempDir dir;
  const auto events = write(dir, "events.jsonl", std::string(kAlarm) + "\n");
  const auto bad = write(dir, "bad.jsonl",
                         R"({"id":"a","pattern":{"source":["x"]}})"
                         "\n"
                         R"({"id":"b","pattern":{"source":"x"}})"
                         "\n");
  auto r = run(dir, "pattern match --patterns " + bad + " --events " + events);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("bad.jsonl line 2 (b): source: expected an array"), std::string::npos)
      << r.err;

  const auto twice = write(dir, "twice.jsonl",
                           R"({"id":"a","pattern":{"source":["x"]}})"
                           "\n"
                           R"({"id":"a","pattern":{"source":["y"]}})"
                           "\n");
  r = run(dir, "pattern match --patterns " + twice + " --events " + events);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("the id a is given twice"), std::string::npos) << r.err;
}

class TestEventPatternApi : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<DaemonProcess>(DaemonOptions{.data_dir = dir_.path() + "/data"});
    ASSERT_TRUE(daemon_->start()) << daemon_->log();
  }

  core::Result<cli::HttpResult> post(const std::string& body, const std::string& token = "") {
    auto c = daemon_->client(token);
    return c.send("POST", "/v1/test-event-pattern", body, "application/json");
  }

  TempDir dir_;
  std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(TestEventPatternApi, AnswersTrueOrFalseForAPatternAndAnEvent) {
  auto r = post(std::string(R"({"pattern":{"detail":{"state":{"value":["ALARM"]}}},"event":)") +
                kAlarm + "}");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body), json::parse(R"({"result":true})"));

  r = post(std::string(R"({"pattern":{"detail":{"state":{"value":["ALARM"]}}},"event":)") + kOk +
           "}");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(json::parse(r->body), json::parse(R"({"result":false})"));
}

TEST_F(TestEventPatternApi, TakesThePatternAndTheEventAsStringsOfJsonText) {
  json::object body{{"pattern", R"({"source":[{"prefix":"aws."}]})"}, {"event", kAlarm}};
  auto r = post(json::serialize(body));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body), json::parse(R"({"result":true})"));
}

TEST_F(TestEventPatternApi, RefusesAnInvalidPatternWithTheValidationMessage) {
  auto r = post(R"({"pattern":{"detail":{"ip":[{"cidr":"10.0.0.0/40"}]}},"event":{}})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400);
  const auto answer = json::parse(r->body);
  EXPECT_EQ(answer.at("error"), "InvalidEventPattern");
  EXPECT_EQ(answer.at("message"), "detail.ip[0].cidr: prefix length 40 is longer than 32 bits");
}

TEST_F(TestEventPatternApi, RefusesABodyWithoutAnEventObject) {
  auto r = post(R"({"pattern":{"source":["x"]},"event":[1]})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400);
  r = post(R"({"pattern":{"source":["x"]},"event":"[1]"})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(json::parse(r->body).at("error"), "InvalidEvent");
  r = post("not json");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400);
}

TEST_F(TestEventPatternApi, AsksForAToken) {
  auto c = daemon_->client("not-a-token");
  auto r = c.send("POST", "/v1/test-event-pattern", R"({"pattern":{"a":["b"]},"event":{}})",
                  "application/json");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 401);
}

}  // namespace
}  // namespace homeostat::testing
