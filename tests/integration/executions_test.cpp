// State machines and executions against the real daemon: machine files from the configuration
// directory, the /v1/state-machines and /v1/executions routes, their roles, the CLI commands,
// and an execution that waits across a graceful restart.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/clock.hpp"
#include "support/cli_run.hpp"
#include "support/daemon_process.hpp"

namespace homeostat::testing {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;

constexpr const char* kPassMachine = R"js({"StartAt": "P", "States": {"P": {"Type": "Pass",
    "Parameters": {"greeting.$": "States.Format('hello {}', $.who)"}, "End": true}}})js";
constexpr const char* kWaitMachine = R"({"StartAt": "W", "States": {
    "W": {"Type": "Wait", "Seconds": 2, "Next": "P"},
    "P": {"Type": "Pass", "Result": "waited", "ResultPath": "$.r", "End": true}}})";
constexpr const char* kLongWaitMachine = R"({"StartAt": "W", "States": {
    "W": {"Type": "Wait", "Seconds": 600, "End": true}}})";
constexpr const char* kFailMachine = R"({"StartAt": "F", "States": {
    "F": {"Type": "Fail", "Error": "Deliberate", "Cause": "the machine says so"}}})";
// Next names a state that does not exist.
constexpr const char* kBadNextMachine = R"({"StartAt": "A", "States": {
    "A": {"Type": "Pass", "Next": "Nowhere"}}})";

struct Answer {
  long status = 0;
  json::value body;
};

class Executions : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(config() + "/state-machines");
    std::ofstream(config() + "/homeostat.yaml") << "log:\n  level: info\n";
    write_machine("hello", kPassMachine);
    write_machine("pause", kWaitMachine);
    write_machine("long", kLongWaitMachine);
    write_machine("fails", kFailMachine);
    write_machine("broken", kBadNextMachine);
    std::ofstream(config() + "/state-machines/README.txt") << "not a machine\n";
    daemon_ =
        std::make_unique<DaemonProcess>(DaemonOptions{.data_dir = data(), .config_dir = config()});
    ASSERT_TRUE(daemon_->start()) << daemon_->log();
  }

  std::string config() const { return dir_.path() + "/config"; }
  std::string data() const { return dir_.path() + "/data"; }

  void write_machine(const std::string& name, const std::string& definition) {
    std::ofstream(config() + "/state-machines/" + name + ".asl.json") << definition;
  }

  Answer call(const std::string& method, const std::string& path, const std::string& body = "",
              const std::string& token = "") {
    auto client = daemon_->client(token);
    auto r = client.send(method, path, body);
    EXPECT_TRUE(r.ok()) << method << " " << path;
    if (!r.ok()) return {};
    boost::system::error_code ec;
    json::value parsed = json::parse(r->body, ec);
    return {r->status, ec ? json::value(r->body) : parsed};
  }

  // Starts an execution of `machine` and returns its id, or "" after a failed expectation.
  std::string start(const std::string& machine, const std::string& input = "{}",
                    const std::string& name = "") {
    std::string body = R"({"stateMachine": ")" + machine + R"(", "input": )" + input;
    body += name.empty() ? "}" : R"(, "name": ")" + name + R"("})";
    auto a = call("POST", "/v1/executions", body);
    EXPECT_EQ(a.status, 201) << a.body;
    return a.status == 201 ? std::string(a.body.at("executionId").as_string()) : "";
  }

  // Describes the execution until it is no longer RUNNING, for up to `timeout`.
  json::value wait_ended(const std::string& id, milliseconds timeout = milliseconds(10000)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    json::value last;
    while (std::chrono::steady_clock::now() < deadline) {
      auto a = call("GET", "/v1/executions/" + id);
      EXPECT_EQ(a.status, 200) << a.body;
      last = a.body;
      if (a.status != 200 || last.at("status") != "RUNNING") return last;
      std::this_thread::sleep_for(milliseconds(50));
    }
    ADD_FAILURE() << "execution " << id << " still running: " << last;
    return last;
  }

  std::vector<std::string> history_types(const std::string& id) {
    auto a = call("GET", "/v1/executions/" + id + "/history");
    EXPECT_EQ(a.status, 200) << a.body;
    std::vector<std::string> types;
    for (const auto& e : a.body.at("events").as_array()) {
      types.emplace_back(e.at("type").as_string());
    }
    return types;
  }

  // Runs `homeostat ARGS --data DIR`; stdout is captured, stderr goes to the test's output.
  CliRun run(const std::string& args) { return run_homeostat(args + " --data " + data()); }

  TempDir dir_;
  std::unique_ptr<DaemonProcess> daemon_;
};

std::vector<std::string> machine_names(const json::value& body) {
  std::vector<std::string> names;
  for (const auto& m : body.at("stateMachines").as_array()) {
    names.emplace_back(m.at("name").as_string());
  }
  return names;
}

TEST_F(Executions, LoadsMachineFilesAndSkipsABadOneWithTheValidatorsMessage) {
  auto list = call("GET", "/v1/state-machines");
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(machine_names(list.body),
            (std::vector<std::string>{"fails", "hello", "long", "pause"}));
  const std::string log = daemon_->log();
  EXPECT_NE(log.find("state machine file skipped"), std::string::npos) << log;
  EXPECT_NE(log.find("broken.asl.json"), std::string::npos) << log;
  EXPECT_NE(log.find("States.A.Next"), std::string::npos) << log;

  auto hello = call("GET", "/v1/state-machines/hello");
  ASSERT_EQ(hello.status, 200) << hello.body;
  EXPECT_EQ(hello.body.at("definition"), json::parse(kPassMachine));
  EXPECT_EQ(hello.body.at("origin"),
            json::value("file:" + config() + "/state-machines/hello.asl.json"));
  EXPECT_EQ(hello.body.at("hash").as_string().size(), 64u);
  EXPECT_EQ(call("GET", "/v1/state-machines/broken").status, 404);
}

TEST_F(Executions, ReloadsMachineFilesOnSighup) {
  write_machine("broken", kPassMachine);
  write_machine("hello", kFailMachine);
  ASSERT_EQ(::kill(daemon_->pid(), SIGHUP), 0);
  std::vector<std::string> names;
  for (int i = 0; i < 200; ++i) {
    names = machine_names(call("GET", "/v1/state-machines").body);
    if (names.size() == 5) break;
    std::this_thread::sleep_for(milliseconds(25));
  }
  EXPECT_EQ(names, (std::vector<std::string>{"broken", "fails", "hello", "long", "pause"}));
  EXPECT_EQ(call("GET", "/v1/state-machines/hello").body.at("definition"),
            json::parse(kFailMachine));
  EXPECT_EQ(wait_ended(start("hello")).at("status"), "FAILED");
}

TEST_F(Executions, PutValidatesRegistersAndShowsAMachine) {
  // A bad definition is refused with the validator's message, naming the state and field.
  auto bad = call("PUT", "/v1/state-machines/mine", R"({"StartAt": "T", "States": {
      "T": {"Type": "Task", "Resource": "test:echo", "End": true,
            "Retry": [{"ErrorEquals": ["X"], "BackoffRate": 0.5}]}}})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(bad.body.at("error"), "InvalidDefinition");
  const std::string message(bad.body.at("message").as_string());
  EXPECT_NE(message.find("States.T.Retry[0].BackoffRate"), std::string::npos) << message;
  EXPECT_EQ(call("PUT", "/v1/state-machines/mine", "not json").status, 400);
  EXPECT_EQ(call("PUT", "/v1/state-machines/.hidden", kPassMachine).status, 400);
  EXPECT_EQ(call("GET", "/v1/state-machines/mine").status, 404);

  auto put = call("PUT", "/v1/state-machines/mine", kPassMachine);
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(put.body.at("name"), "mine");
  auto got = call("GET", "/v1/state-machines/mine");
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.body.at("hash"), put.body.at("hash"));
  EXPECT_EQ(got.body.at("origin"), "api");
  EXPECT_EQ(got.body.at("definition"), json::parse(kPassMachine));

  // A machine from a file is changed in its file, not through the API.
  auto owned = call("PUT", "/v1/state-machines/hello", kFailMachine);
  EXPECT_EQ(owned.status, 409) << owned.body;

  // A machine put through the API survives a restart.
  ASSERT_EQ(daemon_->terminate(), 0);
  ASSERT_TRUE(daemon_->start()) << daemon_->log();
  EXPECT_EQ(call("GET", "/v1/state-machines/mine").body.at("hash"), put.body.at("hash"));
  EXPECT_EQ(wait_ended(start("mine", R"({"who": "again"})")).at("output"),
            json::parse(R"({"greeting": "hello again"})"));
}

TEST_F(Executions, StartsDescribesListsAndShowsTheHistory) {
  const std::string id = start("hello", R"({"who": "world"})", "first");
  ASSERT_FALSE(id.empty());
  auto ended = wait_ended(id);
  EXPECT_EQ(ended.at("status"), "SUCCEEDED");
  EXPECT_EQ(ended.at("name"), "first");
  EXPECT_EQ(ended.at("stateMachine"), "hello");
  EXPECT_EQ(ended.at("input"), json::parse(R"({"who": "world"})"));
  EXPECT_EQ(ended.at("output"), json::parse(R"({"greeting": "hello world"})"));
  EXPECT_TRUE(ended.as_object().contains("startDate"));
  EXPECT_TRUE(ended.as_object().contains("stopDate"));
  EXPECT_EQ(ended.at("machineHash"), call("GET", "/v1/state-machines/hello").body.at("hash"));

  EXPECT_EQ(history_types(id), (std::vector<std::string>{"ExecutionStarted", "StateEntered",
                                                         "StateExited", "ExecutionSucceeded"}));
  auto page = call("GET", "/v1/executions/" + id + "/history?after=1&limit=2");
  ASSERT_EQ(page.status, 200) << page.body;
  ASSERT_EQ(page.body.at("events").as_array().size(), 2u);
  EXPECT_EQ(page.body.at("events").at(0).at("id"), 2);
  EXPECT_EQ(page.body.at("events").at(0).at("type"), "StateEntered");
  EXPECT_TRUE(page.body.at("events").at(0).at("details").is_object());
  EXPECT_EQ(page.body.at("next"), "3");

  const std::string failed = start("fails");
  auto failed_record = wait_ended(failed);
  EXPECT_EQ(failed_record.at("status"), "FAILED");
  EXPECT_EQ(failed_record.at("error"), "Deliberate");
  EXPECT_EQ(failed_record.at("cause"), "the machine says so");

  // Newest first, filtered, and in pages.
  auto all = call("GET", "/v1/executions");
  ASSERT_EQ(all.status, 200) << all.body;
  ASSERT_EQ(all.body.at("executions").as_array().size(), 2u);
  EXPECT_EQ(all.body.at("executions").at(0).at("executionId"), json::value(failed));
  EXPECT_EQ(all.body.at("executions").at(1).at("executionId"), json::value(id));
  auto by_machine = call("GET", "/v1/executions?stateMachine=hello");
  ASSERT_EQ(by_machine.body.at("executions").as_array().size(), 1u);
  EXPECT_EQ(by_machine.body.at("executions").at(0).at("executionId"), json::value(id));
  auto by_status = call("GET", "/v1/executions?status=FAILED");
  ASSERT_EQ(by_status.body.at("executions").as_array().size(), 1u);
  EXPECT_EQ(by_status.body.at("executions").at(0).at("executionId"), json::value(failed));
  auto first_page = call("GET", "/v1/executions?limit=1");
  ASSERT_EQ(first_page.body.at("executions").as_array().size(), 1u);
  auto second_page = call("GET", "/v1/executions?limit=1&before=" +
                                     std::string(first_page.body.at("next").as_string()));
  ASSERT_EQ(second_page.body.at("executions").as_array().size(), 1u);
  EXPECT_EQ(second_page.body.at("executions").at(0).at("executionId"), json::value(id));
  EXPECT_EQ(call("GET", "/v1/executions?status=DONE").status, 400);
  EXPECT_EQ(call("GET", "/v1/executions?limit=0").status, 400);
}

TEST_F(Executions, RefusesTakenNamesUnknownMachinesAndBadBodies) {
  ASSERT_FALSE(start("hello", R"({"who": "a"})", "once").empty());
  auto again = call("POST", "/v1/executions", R"({"stateMachine": "hello", "name": "once"})");
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_EQ(again.body.at("error"), "Conflict");

  auto unknown = call("POST", "/v1/executions", R"({"stateMachine": "nosuch"})");
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  EXPECT_EQ(call("POST", "/v1/executions", R"({"stateMachine": "broken"})").status, 404);
  EXPECT_EQ(call("POST", "/v1/executions", "[1]").status, 400);
  EXPECT_EQ(call("POST", "/v1/executions", R"({"input": {}})").status, 400);
  EXPECT_EQ(call("POST", "/v1/executions", R"({"stateMachine": "hello", "extra": 1})").status, 400);
  EXPECT_EQ(call("POST", "/v1/executions", R"({"stateMachine": 7})").status, 400);

  EXPECT_EQ(call("GET", "/v1/executions/nosuch").status, 404);
  EXPECT_EQ(call("GET", "/v1/executions/nosuch/history").status, 404);
  EXPECT_EQ(call("POST", "/v1/executions/nosuch/stop").status, 404);
}

TEST_F(Executions, StopsARunningExecutionOnce) {
  const std::string id = start("long");
  ASSERT_FALSE(id.empty());
  auto stopped = call("POST", "/v1/executions/" + id + "/stop",
                      R"({"error": "Ops.Cancel", "cause": "not needed"})");
  ASSERT_EQ(stopped.status, 200) << stopped.body;
  EXPECT_EQ(stopped.body.at("status"), "ABORTED");
  EXPECT_EQ(stopped.body.at("error"), "Ops.Cancel");
  EXPECT_EQ(stopped.body.at("cause"), "not needed");

  auto again = call("POST", "/v1/executions/" + id + "/stop");
  EXPECT_EQ(again.status, 409) << again.body;
  auto types = history_types(id);
  ASSERT_FALSE(types.empty());
  EXPECT_EQ(types.back(), "ExecutionAborted");
  EXPECT_EQ(call("POST", "/v1/executions/" + start("long") + "/stop", R"({"error": 1})").status,
            400);
}

TEST_F(Executions, AViewerReadsButCannotStartStopOrPut) {
  auto made = call("POST", "/v1/tokens", R"({"name": "watcher", "role": "viewer"})");
  ASSERT_EQ(made.status, 201) << made.body;
  const std::string viewer(made.body.at("token").as_string());
  const std::string id = start("long");

  EXPECT_EQ(call("POST", "/v1/executions", R"({"stateMachine": "hello"})", viewer).status, 403);
  EXPECT_EQ(call("POST", "/v1/executions/" + id + "/stop", "", viewer).status, 403);
  EXPECT_EQ(call("PUT", "/v1/state-machines/mine", kPassMachine, viewer).status, 403);
  EXPECT_EQ(call("GET", "/v1/executions", "", viewer).status, 200);
  EXPECT_EQ(call("GET", "/v1/executions/" + id, "", viewer).status, 200);
  EXPECT_EQ(call("GET", "/v1/executions/" + id + "/history", "", viewer).status, 200);
  EXPECT_EQ(call("GET", "/v1/state-machines", "", viewer).status, 200);
  EXPECT_EQ(call("GET", "/v1/executions", "", "hst_not-a-token").status, 401);

  auto op = call("POST", "/v1/tokens", R"({"name": "runner", "role": "operator"})");
  ASSERT_EQ(op.status, 201) << op.body;
  const std::string operator_token(op.body.at("token").as_string());
  EXPECT_EQ(call("POST", "/v1/executions", R"({"stateMachine": "hello"})", operator_token).status,
            201);
  EXPECT_EQ(call("PUT", "/v1/state-machines/mine", kPassMachine, operator_token).status, 200);
}

TEST_F(Executions, TheCliPutsStartsWaitsListsDescribesAndStops) {
  const std::string file = dir_.path() + "/mine.asl.json";
  std::ofstream(file) << kPassMachine;
  auto put = run("state-machines put mine " + file);
  EXPECT_EQ(put.code, 0);
  EXPECT_EQ(put.out.substr(0, 5), "mine\t");
  auto list = run("state-machines list");
  EXPECT_EQ(list.code, 0);
  EXPECT_NE(list.out.find("mine\t"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("\tfile:"), std::string::npos) << list.out;
  EXPECT_EQ(json::parse(run("state-machines get mine").out).at("definition"),
            json::parse(kPassMachine));
  EXPECT_EQ(run("state-machines get nosuch").code, 1);
  std::ofstream(dir_.path() + "/bad.json") << kBadNextMachine;
  EXPECT_EQ(run("state-machines put bad " + dir_.path() + "/bad.json").code, 1);

  // --wait prints the final record and exits 0 only when the execution succeeded.
  auto ok = run("executions start mine --input '{\"who\": \"cli\"}' --name one --wait");
  EXPECT_EQ(ok.code, 0);
  auto record = json::parse(ok.out);
  EXPECT_EQ(record.at("status"), "SUCCEEDED");
  EXPECT_EQ(record.at("output"), json::parse(R"({"greeting": "hello cli"})"));
  std::ofstream(dir_.path() + "/input.json") << R"({"who": "file"})";
  auto from_file = run("executions start mine --input @" + dir_.path() + "/input.json --wait");
  EXPECT_EQ(from_file.code, 0);
  EXPECT_EQ(json::parse(from_file.out).at("output"), json::parse(R"({"greeting": "hello file"})"));
  auto failed = run("executions start fails --wait");
  EXPECT_EQ(failed.code, 1);
  EXPECT_EQ(json::parse(failed.out).at("status"), "FAILED");
  EXPECT_EQ(run("executions start mine --name one").code, 1);  // the name is taken
  EXPECT_EQ(run("executions start mine --input '{nope'").code, 2);
  EXPECT_EQ(run("executions start nosuch").code, 1);

  // Without --wait the started record is printed at once.
  auto started = run("executions start long");
  EXPECT_EQ(started.code, 0);
  const std::string id(json::parse(started.out).at("executionId").as_string());

  auto listed = run("executions list --machine mine");
  EXPECT_EQ(listed.code, 0);
  EXPECT_NE(listed.out.find("\tone\tmine\tSUCCEEDED\t"), std::string::npos) << listed.out;
  auto running = run("executions list --status RUNNING");
  EXPECT_EQ(running.out.substr(0, id.size() + 1), id + "\t") << running.out;
  EXPECT_EQ(std::count(running.out.begin(), running.out.end(), '\n'), 1);
  EXPECT_EQ(run("executions list --status WHATEVER").code, 2);

  auto described = run("executions describe " + id);
  EXPECT_EQ(described.code, 0);
  EXPECT_EQ(json::parse(described.out).at("status"), "RUNNING");
  auto stopped = run("executions stop " + id + " --error Ops.Cancel --cause done");
  EXPECT_EQ(stopped.code, 0);
  EXPECT_EQ(json::parse(stopped.out).at("status"), "ABORTED");
  EXPECT_EQ(run("executions stop " + id).code, 1);
  EXPECT_EQ(run("executions describe nosuch").code, 1);

  auto history = run("executions history " + id);
  EXPECT_EQ(history.code, 0);
  std::vector<std::string> types;
  std::istringstream lines(history.out);
  for (std::string line; std::getline(lines, line);) {
    types.emplace_back(json::parse(line).at("type").as_string());
  }
  EXPECT_EQ(types, (std::vector<std::string>{"ExecutionStarted", "StateEntered", "WaitStarted",
                                             "ExecutionAborted"}));
  EXPECT_EQ(run("executions describe " + id + " --token hst_wrong").code, 4);
}

TEST_F(Executions, AWaitThatSpansAGracefulRestartFinishesAfterIt) {
  const std::string id = start("pause", R"({"n": 1})");
  ASSERT_FALSE(id.empty());
  ASSERT_EQ(daemon_->terminate(), 0);
  const int64_t restarted_ms = core::system_clock().now_ms();
  ASSERT_TRUE(daemon_->start()) << daemon_->log();

  auto ended = wait_ended(id);
  EXPECT_EQ(ended.at("status"), "SUCCEEDED");
  EXPECT_EQ(ended.at("output"), json::parse(R"({"n": 1, "r": "waited"})"));
  auto start_ms = core::parse_rfc3339(ended.at("startDate").as_string());
  auto stop_ms = core::parse_rfc3339(ended.at("stopDate").as_string());
  ASSERT_TRUE(start_ms.ok() && stop_ms.ok());
  EXPECT_GE(*stop_ms - *start_ms, 2000);
  // It was still waiting when the daemon stopped, and the timer fired in the new process.
  EXPECT_LT(restarted_ms - *start_ms, 2000) << "the restart took too long to show anything";
  EXPECT_GE(*stop_ms, restarted_ms);
  auto types = history_types(id);
  EXPECT_EQ(std::count(types.begin(), types.end(), "ExecutionSucceeded"), 1);
  EXPECT_EQ(std::count(types.begin(), types.end(), "ExecutionStarted"), 1);
}

}  // namespace
}  // namespace homeostat::testing
