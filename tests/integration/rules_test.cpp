// Rules as an operator uses them: rule files in the config directory and rules made through
// the API, events delivered by a real daemon to a real webhook receiver, topics and other
// buses, retries, the dead-letter store and replays.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <csignal>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "support/daemon_process.hpp"
#include "support/webhook_receiver.hpp"

namespace homeostat::testing {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;

// Fast retries so that a test sees several attempts in well under a second.
constexpr const char* kSettings =
    "delivery:\n  retry_base: 20ms\n  retry_max: 100ms\n  poll: 20ms\nlog:\n  level: warn\n";

const char* kAlarm =
    R"({"source":"aws.cloudwatch","detail-type":"CloudWatch Alarm State Change",)"
    R"("region":"eu-west-1","detail":{"alarmName":"web-1-cpu-high","state":{"value":"ALARM"}}})";

class Rules : public ::testing::Test {
 protected:
  // Writes the config directory: settings plus each (file name, text) rule file.
  void write_config(const std::vector<std::pair<std::string, std::string>>& files) {
    std::filesystem::create_directories(config() + "/rules");
    std::ofstream(config() + "/homeostat.yaml") << kSettings;
    for (const auto& [name, text] : files) {
      std::ofstream(config() + "/rules/" + name) << text;
    }
  }

  bool start() {
    daemon_ = std::make_unique<DaemonProcess>(
        DaemonOptions{.data_dir = dir_.path() + "/data", .config_dir = config()});
    return daemon_->start();
  }

  std::string config() const { return dir_.path() + "/config"; }

  json::value call(const std::string& method, const std::string& path, const std::string& body,
                   long expect, const std::string& token = "") {
    auto c = daemon_->client(token);
    auto r = c.send(method, path, body);
    EXPECT_TRUE(r.ok());
    if (!r.ok()) {
      return nullptr;
    }
    EXPECT_EQ(r->status, expect) << method << " " << path << ": " << r->body;
    return r->body.empty() ? json::value(nullptr) : json::parse(r->body);
  }

  void put_event(const std::string& event, const std::string& bus = "") {
    auto answer = call("POST", bus.empty() ? "/v1/events" : "/v1/events?bus=" + bus, event, 200);
    ASSERT_EQ(answer.at("accepted"), 1);
  }

  // Polls the deliveries until `done` holds for the list, for up to 10 s.
  json::array wait_deliveries(const std::string& query,
                              const std::function<bool(const json::array&)>& done) {
    json::array list;
    for (int i = 0; i < 500; ++i) {
      list = call("GET", "/v1/deliveries" + query, "", 200).at("deliveries").as_array();
      if (done(list)) {
        return list;
      }
      std::this_thread::sleep_for(milliseconds(20));
    }
    ADD_FAILURE() << "deliveries did not reach the expected state: " << json::serialize(list);
    return list;
  }

  std::string webhook_rule(const std::string& name, const std::string& extra_target = "") {
    return "name: " + name +
           "\npattern:\n  source: [aws.cloudwatch]\n  detail:\n    state:\n      value: "
           "[ALARM]\ntargets:\n  - id: hook\n    webhook:\n      url: " +
           hook_.url("/" + name) + "\n      headers:\n        X-Team: ops\n" + extra_target;
  }

  TempDir dir_;
  WebhookReceiver hook_;
  std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(Rules, DeliversAMatchingEventToAWebhookWithTheTransformedInput) {
  write_config({{"page.yaml", webhook_rule("page") +
                                  "    input_transformer:\n      input_paths_map:\n"
                                  "        alarm: $.detail.alarmName\n"
                                  "      input_template: '{\"text\": \"<alarm> fired\"}'\n"}});
  ASSERT_TRUE(start()) << daemon_->log();
  put_event(kAlarm);
  put_event(R"({"source":"aws.cloudwatch","detail-type":"x","detail":{"state":{"value":"OK"}}})");

  ASSERT_TRUE(hook_.wait_for(1, milliseconds(10000)));
  std::this_thread::sleep_for(milliseconds(200));  // room for a wrong second delivery
  auto requests = hook_.requests();
  ASSERT_EQ(requests.size(), 1u);
  const auto& r = requests[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/page");
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"text": "web-1-cpu-high fired"})"));
  EXPECT_EQ(r.headers.at("content-type"), "application/json");
  EXPECT_EQ(r.headers.at("x-team"), "ops");
  EXPECT_EQ(r.headers.at("x-homeostat-rule"), "page");
  EXPECT_TRUE(r.headers.at("idempotency-key").starts_with("homeostat-delivery-"));

  auto list = wait_deliveries("?rule=page", [](const json::array& l) {
    return l.size() == 1 && l[0].at("state") == "delivered";
  });
  EXPECT_EQ(list[0].at("event_id").as_string(), r.headers.at("x-homeostat-event-id"));
}

TEST_F(Rules, RetriesAFailingWebhookAndRecordsEveryAttempt) {
  write_config({{"page.yaml", webhook_rule("page")}});
  ASSERT_TRUE(start()) << daemon_->log();
  hook_.fail_next(2, 503);
  put_event(kAlarm);

  auto list = wait_deliveries("?rule=page", [](const json::array& l) {
    return l.size() == 1 && l[0].at("state") == "delivered";
  });
  EXPECT_EQ(hook_.count(), 3u);
  auto delivery = call("GET", "/v1/deliveries/" + json::serialize(list[0].at("id")), "", 200);
  const auto& attempts = delivery.at("attempts_made").as_array();
  ASSERT_EQ(attempts.size(), 3u);
  EXPECT_EQ(attempts[0].at("outcome"), "failed");
  EXPECT_EQ(attempts[0].at("detail"), "HTTP 503");
  EXPECT_EQ(attempts[1].at("outcome"), "failed");
  EXPECT_EQ(attempts[2].at("outcome"), "delivered");
  EXPECT_EQ(attempts[2].at("detail"), "HTTP 200");
}

TEST_F(Rules, SendsAFinalFailureToTheDeadLetterStoreAndRedrivesIt) {
  write_config({{"page.yaml", webhook_rule("page")}});
  ASSERT_TRUE(start()) << daemon_->log();
  hook_.set_status(400);
  put_event(kAlarm);

  auto dead = wait_deliveries("?state=dead", [](const json::array& l) { return l.size() == 1; });
  EXPECT_EQ(hook_.count(), 1u);  // a 400 is not retried
  EXPECT_EQ(dead[0].at("last_error"), "HTTP 400 (not retried)");
  auto dlq = call("GET", "/v1/dlq", "", 200).at("deliveries").as_array();
  ASSERT_EQ(dlq.size(), 1u);

  // A viewer may look but not redrive; an operator may.
  auto viewer = call("POST", "/v1/tokens", R"({"name":"v","role":"viewer"})", 201);
  call("POST", "/v1/dlq/redrive", R"({"all":true})", 403,
       std::string(viewer.at("token").as_string()));
  hook_.set_status(200);
  auto redriven = call("POST", "/v1/dlq/redrive", R"({"rule":"page"})", 200);
  EXPECT_EQ(redriven.at("redriven"), 1);
  wait_deliveries("?rule=page", [](const json::array& l) {
    return l.size() == 1 && l[0].at("state") == "delivered";
  });
  EXPECT_EQ(hook_.count(), 2u);
}

TEST_F(Rules, GivesUpAfterTheTargetsMaximumRetryAttempts) {
  write_config(
      {{"page.yaml", webhook_rule("page") + "    retry:\n      maximum_retry_attempts: 2\n"}});
  ASSERT_TRUE(start()) << daemon_->log();
  hook_.set_status(500);
  put_event(kAlarm);

  auto dead = wait_deliveries("?state=dead", [](const json::array& l) { return l.size() == 1; });
  EXPECT_EQ(dead[0].at("attempts"), 3);
  EXPECT_EQ(dead[0].at("last_error"), "HTTP 500 (out of attempts)");
  EXPECT_EQ(hook_.count(), 3u);
}

TEST_F(Rules, PublishesToTopicsAndForwardsToAnotherBus) {
  write_config({{"route.yaml", R"(
- name: to-security
  pattern: {source: [aws.guardduty]}
  targets:
    - {id: fwd, bus: security}
- name: announce
  bus: security
  pattern: {detail-type: [GuardDuty Finding]}
  targets:
    - id: topic
      topic: security-alerts
      input_path: $.detail.type
)"}});
  ASSERT_TRUE(start()) << daemon_->log();
  put_event(R"({"id":"finding-1","source":"aws.guardduty","detail-type":"GuardDuty Finding",)"
            R"("detail":{"type":"Recon:EC2/PortProbe"}})");

  json::array messages;
  for (int i = 0; i < 500 && messages.empty(); ++i) {
    messages =
        call("GET", "/v1/topics/security-alerts/messages", "", 200).at("messages").as_array();
    std::this_thread::sleep_for(milliseconds(20));
  }
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].at("message"), "Recon:EC2/PortProbe");

  // The forwarded copy is on the security bus under a new, stable id.
  auto on_security = call("GET", "/v1/events?bus=security", "", 200).at("events").as_array();
  ASSERT_EQ(on_security.size(), 1u);
  EXPECT_NE(on_security[0].at("id"), "finding-1");
  EXPECT_EQ(on_security[0].at("detail").at("type"), "Recon:EC2/PortProbe");
  EXPECT_EQ(call("GET", "/v1/events?bus=default", "", 200).at("events").as_array().size(), 1u);
}

TEST_F(Rules, ManagesRulesThroughTheApiAndKeepsThemAcrossARestart) {
  write_config({{"page.yaml", webhook_rule("page")}});
  ASSERT_TRUE(start()) << daemon_->log();
  const std::string rule =
      R"({"name":"copy","description":"every ec2 event","pattern":{"source":["aws.ec2"]},)"
      R"("targets":[{"id":"t","topic":"ec2"}]})";

  // Only an admin changes rules.
  auto operator_token = call("POST", "/v1/tokens", R"({"name":"o","role":"operator"})", 201);
  call("POST", "/v1/rules", rule, 403, std::string(operator_token.at("token").as_string()));
  call("POST", "/v1/rules", rule, 201);
  call("POST", "/v1/rules", rule, 409);
  auto bad = call("PUT", "/v1/rules/broken", R"({"pattern":{"source":"x"},"targets":[]})", 400);
  EXPECT_EQ(bad.at("message"),
            "pattern: source: expected an array of values or an object, not "
            "\"x\"");

  // A file rule is listed but cannot be changed or removed through the API.
  auto rules = call("GET", "/v1/rules", "", 200).at("rules").as_array();
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].at("name"), "copy");
  EXPECT_EQ(rules[0].at("origin"), "api");
  EXPECT_TRUE(std::string(rules[1].at("origin").as_string()).starts_with("file:"));
  call("DELETE", "/v1/rules/page", "", 409);
  call("PUT", "/v1/rules/page", rule, 400);  // the name in the body differs from the path

  ASSERT_EQ(daemon_->terminate(), 0);
  ASSERT_TRUE(start()) << daemon_->log();
  EXPECT_EQ(call("GET", "/v1/rules/copy", "", 200).at("description"), "every ec2 event");
  call("DELETE", "/v1/rules/copy", "", 204);
  call("GET", "/v1/rules/copy", "", 404);
}

TEST_F(Rules, ReplaysArchivedEventsMarkedWithTheReplayName) {
  write_config({{"page.yaml", webhook_rule("page")}, {"other.yaml", webhook_rule("other")}});
  ASSERT_TRUE(start()) << daemon_->log();
  for (const char* time :
       {"2026-11-01T10:00:00Z", "2026-11-02T10:00:00Z", "2026-11-03T10:00:00Z"}) {
    json::value e = json::parse(kAlarm);
    e.as_object()["time"] = time;
    put_event(json::serialize(e));
  }
  ASSERT_TRUE(hook_.wait_for(6, milliseconds(10000)));
  hook_.clear();

  auto replay = call("POST", "/v1/replays",
                     R"({"name":"nov-2","since":"2026-11-02T00:00:00Z",)"
                     R"("until":"2026-11-03T00:00:00Z","rule":"page"})",
                     201);
  EXPECT_EQ(replay.at("name"), "nov-2");
  ASSERT_TRUE(hook_.wait_for(1, milliseconds(10000)));
  std::this_thread::sleep_for(milliseconds(200));
  auto requests = hook_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].target, "/page");
  auto body = json::parse(requests[0].body);
  EXPECT_EQ(body.at("replay-name"), "nov-2");
  EXPECT_EQ(body.at("time"), "2026-11-02T10:00:00Z");
  auto state = call("GET", "/v1/replays/nov-2", "", 200);
  EXPECT_EQ(state.at("state"), "done");
  EXPECT_EQ(state.at("deliveries"), 1);
  call("POST", "/v1/replays", R"({"since":"2026-11-02T00:00:00Z","until":"2026-11-01T00:00:00Z"})",
       400);
}

TEST_F(Rules, ReloadsRuleFilesOnRequestAndOnSighupKeepingTheOldOnesOnError) {
  write_config({{"page.yaml", webhook_rule("page")}});
  ASSERT_TRUE(start()) << daemon_->log();

  // A second file: in force after a reload through the API.
  std::ofstream(config() + "/rules/other.yaml") << webhook_rule("other");
  EXPECT_EQ(call("POST", "/v1/rules/reload", "", 200).at("rules"), 2);
  put_event(kAlarm);
  ASSERT_TRUE(hook_.wait_for(2, milliseconds(10000)));

  // A broken file: refused with its place, and the two rules stay.
  std::ofstream(config() + "/rules/other.yaml") << "name: other\npattern: {}\ntargets: []\n";
  auto refused = call("POST", "/v1/rules/reload", "", 400);
  EXPECT_NE(std::string(refused.at("message").as_string()).find("other.yaml: pattern: "),
            std::string::npos)
      << refused;
  EXPECT_EQ(call("GET", "/v1/rules", "", 200).at("rules").as_array().size(), 2u);

  // SIGHUP reads them again too.
  std::filesystem::remove(config() + "/rules/other.yaml");
  ::kill(daemon_->pid(), SIGHUP);
  for (int i = 0; i < 250; ++i) {
    if (call("GET", "/v1/rules", "", 200).at("rules").as_array().size() == 1) {
      break;
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_EQ(call("GET", "/v1/rules", "", 200).at("rules").as_array().size(), 1u);
}

TEST_F(Rules, ShowsWebhookHeaderValuesToAdminsOnly) {
  write_config({{"page.yaml", webhook_rule("page")}});
  ASSERT_TRUE(start()) << daemon_->log();
  auto viewer = call("POST", "/v1/tokens", R"({"name":"v","role":"viewer"})", 201);
  auto as_viewer =
      call("GET", "/v1/rules/page", "", 200, std::string(viewer.at("token").as_string()));
  EXPECT_EQ(as_viewer.at("targets").at(0).at("webhook").at("headers").at("X-Team"), "(hidden)");
  auto as_admin = call("GET", "/v1/rules/page", "", 200);
  EXPECT_EQ(as_admin.at("targets").at(0).at("webhook").at("headers").at("X-Team"), "ops");
}

TEST_F(Rules, RefusesARedriveRequestItCannotReadExactly) {
  write_config({{"page.yaml", webhook_rule("page")}});
  ASSERT_TRUE(start()) << daemon_->log();
  call("POST", "/v1/dlq/redrive", R"({"ids": 5, "all": true})", 400);
  call("POST", "/v1/dlq/redrive", R"({"ids": ["x"]})", 400);
  call("POST", "/v1/dlq/redrive", R"({"everything": true})", 400);
  call("POST", "/v1/dlq/redrive", "{}", 400);
  EXPECT_EQ(call("POST", "/v1/dlq/redrive", R"({"ids": [1, 2]})", 200).at("redriven"), 0);
}

TEST_F(Rules, RefusesToStartWithAnInvalidRuleFileAndSaysWhere) {
  write_config({{"broken.yaml",
                 "name: broken\npattern: {source: [x]}\ntargets:\n"
                 "  - id: t\n    webhook: {url: ftp://example.com}\n"}});
  daemon_ = std::make_unique<DaemonProcess>(DaemonOptions{
      .data_dir = dir_.path() + "/data", .config_dir = config(), .wait_ready = false});
  ASSERT_TRUE(daemon_->start());
  EXPECT_NE(daemon_->wait_exit(10000), 0);
  EXPECT_NE(daemon_->log().find("broken.yaml: targets[0].webhook.url: must start with http://"),
            std::string::npos)
      << daemon_->log();
}

}  // namespace
}  // namespace homeostat::testing
