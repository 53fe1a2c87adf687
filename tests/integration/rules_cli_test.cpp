// The rule commands as an operator types them, against a real daemon: rules put/list/get/
// reload/delete, deliveries, dlq list/redrive, topics read and events replay.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "support/cli_run.hpp"
#include "support/daemon_process.hpp"
#include "support/webhook_receiver.hpp"

namespace homeostat::testing {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;

class RulesCli : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(config() + "/rules");
    std::ofstream(config() + "/homeostat.yaml")
        << "delivery:\n  retry_base: 20ms\n  retry_max: 100ms\n  poll: 20ms\nlog:\n  level: warn\n";
    std::ofstream(config() + "/rules/hook.yaml")
        << "name: hook\npattern: {source: [app]}\ntargets:\n  - id: h\n    webhook: {url: "
        << hook_.url() << "}\n    retry: {maximum_retry_attempts: 0}\n";
    daemon_ =
        std::make_unique<DaemonProcess>(DaemonOptions{.data_dir = data(), .config_dir = config()});
    ASSERT_TRUE(daemon_->start()) << daemon_->log();
  }

  std::string config() const { return dir_.path() + "/config"; }
  std::string data() const { return dir_.path() + "/data"; }

  // Runs `homeostat ARGS --data DIR`; stdout is captured, stderr goes to the test's output.
  CliRun run(const std::string& args) { return run_homeostat(args + " --data " + data()); }

  // Runs `args` until its output contains `text`, for up to 10 s.
  CliRun run_until(const std::string& args, const std::string& text) {
    CliRun r;
    for (int i = 0; i < 200; ++i) {
      r = run(args);
      if (r.out.find(text) != std::string::npos) {
        return r;
      }
      std::this_thread::sleep_for(milliseconds(50));
    }
    ADD_FAILURE() << "`" << args << "` never printed " << text << "; last: " << r.out;
    return r;
  }

  TempDir dir_;
  WebhookReceiver hook_;
  std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(RulesCli, PutsListsShowsAndDeletesRules) {
  const std::string file = dir_.path() + "/more.yaml";
  std::ofstream(file) << "- name: to-topic\n  pattern: {source: [app]}\n  targets:\n"
                         "    - {id: t, topic: app-events}\n"
                         "- name: disabled\n  enabled: false\n  pattern: {source: [x]}\n"
                         "  targets:\n    - {id: t, topic: x}\n";
  auto put = run("rules put " + file);
  EXPECT_EQ(put.code, 0);
  EXPECT_EQ(put.out, "to-topic created\ndisabled created\n");

  auto list = run("rules list");
  EXPECT_EQ(list.code, 0);
  EXPECT_NE(list.out.find("disabled\tdefault\tfalse\tapi\tt\n"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("hook\tdefault\ttrue\tfile:"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("to-topic\tdefault\ttrue\tapi\tt\n"), std::string::npos) << list.out;
  auto get = run("rules get to-topic");
  EXPECT_EQ(json::parse(get.out).at("origin"), "api");

  EXPECT_EQ(run("rules delete hook").code, 1);
  EXPECT_EQ(run("rules delete disabled").code, 0);
  EXPECT_EQ(run("rules get disabled").code, 1);
  EXPECT_EQ(run("rules reload").out, "2 rules in force\n");
}

TEST_F(RulesCli, ShowsDeliveriesAndTopicsAndRedrivesTheDeadLetters) {
  hook_.set_status(500);  // no retries: dead at the first failure
  ASSERT_EQ(run("events put --source app --detail-type t --id ev-1").code, 0);

  auto dead = run_until("dlq list", "ev-1");
  EXPECT_NE(dead.out.find("dead\thook\th\tev-1\t1\tHTTP 500 (out of attempts)"), std::string::npos)
      << dead.out;
  auto deliveries = run("deliveries list --rule hook");
  EXPECT_NE(deliveries.out.find("\tdead\thook\th\tev-1"), std::string::npos) << deliveries.out;

  hook_.set_status(200);
  auto redrive = run("dlq redrive --all");
  EXPECT_EQ(redrive.code, 0);
  EXPECT_EQ(redrive.out, "1 redriven\n");
  run_until("deliveries list --state delivered", "ev-1");
  EXPECT_EQ(run("dlq list").out, "");
  EXPECT_EQ(run("dlq redrive").code, 2);  // says what to redrive

  // A topic target, read back as NDJSON.
  const std::string file = dir_.path() + "/topic.json";
  std::ofstream(file) << R"({"name":"copy","pattern":{"source":["app"]},)"
                         R"("targets":[{"id":"t","topic":"copies","input_path":"$.id"}]})";
  ASSERT_EQ(run("rules put " + file).code, 0);
  ASSERT_EQ(run("events put --source app --detail-type t --id ev-2").code, 0);
  auto topic = run_until("topics read copies", "ev-2");
  EXPECT_EQ(json::parse(topic.out).at("message"), "ev-2");
}

TEST_F(RulesCli, ReplaysARangeOfEventsAndWaitsUntilItIsDone) {
  ASSERT_EQ(
      run("events put --source app --detail-type t --id old --time 2026-06-01T00:00:00Z").code, 0);
  ASSERT_TRUE(hook_.wait_for(1, milliseconds(10000)));
  auto replay =
      run("events replay --since 2026-05-31T00:00:00Z --until 2026-06-02T00:00:00Z --rule hook "
          "--name june");
  EXPECT_EQ(replay.code, 0);
  EXPECT_EQ(replay.out, "replay june: done, 1 deliveries\n");
  ASSERT_TRUE(hook_.wait_for(2, milliseconds(10000)));
  EXPECT_EQ(json::parse(hook_.requests()[1].body).at("replay-name"), "june");
  EXPECT_EQ(run("events replay --since 2026-05-31T00:00:00Z --until 2026-06-02T00:00:00Z "
                "--rule nosuch")
                .code,
            1);
}

}  // namespace
}  // namespace homeostat::testing
