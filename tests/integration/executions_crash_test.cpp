// Executions survive SIGKILL: a client starts executions while the daemon is killed at a
// random moment, twenty times over one data directory. Once everything has finished, every
// acknowledged execution exists once and succeeded once with the output its input implies, and
// every task attempt that ran twice (a test:record key written more than once) was issued again
// on purpose: the history holds a TaskReissued event for each extra run.

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "support/daemon_process.hpp"

namespace homeostat::testing {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;

constexpr int kKills = 20;
constexpr int kItems = 5;
// One start every this long while the daemon lives: about 300 executions over the kills.
constexpr milliseconds kStartPace{50};

// A Task on test:record, a Wait, a test:flaky Task that fails once and is retried after 1 s, a
// Map whose items each record, and a Pass that builds the output from the input.
constexpr const char* kMachine = R"js({"StartAt": "Record", "States": {
  "Record": {"Type": "Task", "Resource": "test:record", "ResultPath": null, "Next": "Pause"},
  "Pause": {"Type": "Wait", "Seconds": 1, "Next": "Flaky"},
  "Flaky": {"Type": "Task", "Resource": "test:flaky", "Parameters": {"failures": 1},
            "ResultPath": null, "Next": "Fan",
            "Retry": [{"ErrorEquals": ["Test.Flaky"], "IntervalSeconds": 1, "MaxAttempts": 2,
                       "BackoffRate": 1.0}]},
  "Fan": {"Type": "Map", "ItemsPath": "$.items", "ResultPath": "$.fan",
          "ItemSelector": {"v.$": "$$.Map.Item.Value"},
          "ItemProcessor": {"StartAt": "Each", "States": {
            "Each": {"Type": "Task", "Resource": "test:record", "End": true}}},
          "Next": "Build"},
  "Build": {"Type": "Pass", "End": true,
            "Parameters": {"n.$": "$.n", "next.$": "States.MathAdd($.n, 1)",
                           "fan.$": "$.fan"}}}})js";

json::value input_for(int64_t n) {
  json::array items;
  for (int i = 0; i < kItems; ++i) {
    items.emplace_back(n * 10 + i);
  }
  return json::object{{"n", n}, {"items", std::move(items)}};
}

json::value output_for(int64_t n) {
  json::array fan;
  for (int i = 0; i < kItems; ++i) {
    fan.emplace_back(json::object{{"v", n * 10 + i}});
  }
  return json::object{{"n", n}, {"next", n + 1}, {"fan", std::move(fan)}};
}

json::value get(cli::Client& c, const std::string& path) {
  auto r = c.send("GET", path);
  EXPECT_TRUE(r.ok()) << path;
  if (!r.ok()) return {};
  EXPECT_EQ(r->status, 200) << path << ": " << r->body;
  return json::parse(r->body);
}

// Every stored execution, newest first, following the pages.
std::vector<json::value> all_executions(cli::Client& c, const std::string& filter = "") {
  std::vector<json::value> out;
  std::string before;
  for (;;) {
    json::value page =
        get(c, "/v1/executions?limit=1000" + filter + (before.empty() ? "" : "&before=" + before));
    if (page.is_null()) return out;
    for (const auto& e : page.at("executions").as_array()) {
      out.push_back(e);
    }
    const auto* next = page.as_object().if_contains("next");
    if (next == nullptr) return out;
    before = std::string(next->as_string());
  }
}

// An execution's whole history.
std::vector<json::value> history(cli::Client& c, const std::string& id) {
  std::vector<json::value> out;
  std::string after = "0";
  for (;;) {
    json::value page = get(c, "/v1/executions/" + id + "/history?after=" + after);
    if (page.is_null()) return out;
    for (const auto& e : page.at("events").as_array()) {
      out.push_back(e);
    }
    const auto* next = page.as_object().if_contains("next");
    if (next == nullptr) return out;
    after = std::string(next->as_string());
  }
}

TEST(ExecutionsCrash, EveryAcknowledgedExecutionSucceedsOnceAcrossRepeatedKillNine) {
  TempDir dir;
  const std::string config = dir.path() + "/config";
  const std::string record_file = dir.path() + "/record.ndjson";
  std::filesystem::create_directories(config + "/state-machines");
  std::ofstream(config + "/homeostat.yaml")
      << "log:\n  level: warn\nengine:\n  test_record_file: " << record_file << "\n";
  std::ofstream(config + "/state-machines/crash.asl.json") << kMachine;
  const DaemonOptions options{.data_dir = dir.path() + "/data", .config_dir = config};

  std::mt19937 rng(20261204);
  std::map<std::string, std::string> acked;  // execution name -> id, once acknowledged
  int64_t next_n = 0;

  // Start executions while the daemon runs; kill it at a random moment; again, twenty times.
  for (int round = 0; round < kKills; ++round) {
    DaemonProcess d(options);
    ASSERT_TRUE(d.start()) << "round " << round << ": " << d.log();
    std::atomic<bool> stop{false};
    std::map<std::string, std::string> round_acked;
    std::thread starter([&] {
      auto c = d.client();
      while (!stop) {
        const int64_t n = next_n++;
        const std::string name = "x-" + std::to_string(n);
        json::object body{{"stateMachine", "crash"}, {"name", name}, {"input", input_for(n)}};
        auto r = c.send("POST", "/v1/executions", json::serialize(body));
        if (!r.ok()) return;  // killed: this one may or may not exist
        if (r->status != 201) {
          ADD_FAILURE() << "round " << round << ": start " << name << ": " << r->status << " "
                        << r->body;
          return;
        }
        round_acked[name] = std::string(json::parse(r->body).at("executionId").as_string());
        std::this_thread::sleep_for(kStartPace);
      }
    });
    std::this_thread::sleep_for(milliseconds(300 + rng() % 1200));
    d.kill9();
    stop = true;
    starter.join();
    acked.insert(round_acked.begin(), round_acked.end());
  }

  // Let everything finish.
  DaemonProcess d(options);
  ASSERT_TRUE(d.start()) << d.log();
  auto c = d.client();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  while (!all_executions(c, "&status=RUNNING").empty()) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "executions still running";
    std::this_thread::sleep_for(milliseconds(200));
  }

  // Every acknowledged execution exists once (no execution exists twice, whether its start
  // was acknowledged or cut off) and succeeded with the output its input implies.
  std::map<std::string, json::value> by_name;
  for (const json::value& e : all_executions(c)) {
    const std::string name(e.at("name").as_string());
    EXPECT_FALSE(by_name.contains(name)) << "execution " << name << " exists twice";
    by_name[name] = e;
  }
  for (const auto& [name, id] : acked) {
    auto it = by_name.find(name);
    if (it == by_name.end()) {
      ADD_FAILURE() << "acknowledged execution " << name << " (" << id << ") is missing";
      continue;
    }
    EXPECT_EQ(it->second.at("executionId"), json::value(id)) << name;
  }

  // Each ended SUCCEEDED exactly once; collect the reissued keys from the histories.
  std::map<std::string, int> reissues;  // idempotency key -> TaskReissued events
  size_t reissued_events = 0;
  for (const auto& [name, e] : by_name) {
    const std::string id(e.at("executionId").as_string());
    const json::value described = get(c, "/v1/executions/" + id);
    EXPECT_EQ(described.at("status"), "SUCCEEDED") << name << ": " << described;
    const json::value* output = described.as_object().if_contains("output");
    EXPECT_TRUE(output != nullptr && *output == output_for(std::stoll(name.substr(2))))
        << name << ": " << described;
    int succeeded = 0;
    int ended = 0;
    for (const json::value& event : history(c, id)) {
      const std::string type(event.at("type").as_string());
      succeeded += type == "ExecutionSucceeded" ? 1 : 0;
      ended += type.starts_with("Execution") && type != "ExecutionStarted" ? 1 : 0;
      if (type == "TaskReissued") {
        ++reissues[std::string(event.at("details").at("key").as_string())];
        ++reissued_events;
      }
    }
    EXPECT_EQ(succeeded, 1) << name;
    EXPECT_EQ(ended, 1) << name;
  }

  // No silent repeats: a key runs once, plus once for every time it was issued again.
  std::map<std::string, int> lines;                     // key -> record lines
  std::map<std::string, std::set<std::string>> states;  // execution id -> recorded states
  std::istringstream in(read_file(record_file));
  size_t total_lines = 0;
  for (std::string line; std::getline(in, line);) {
    ++total_lines;
    const json::value v = json::parse(line);
    ++lines[std::string(v.at("key").as_string())];
    states[std::string(v.at("execution").as_string())].insert(
        std::string(v.at("state").as_string()));
  }
  size_t repeated = 0;
  for (const auto& [key, count] : lines) {
    if (count == 1) continue;
    ++repeated;
    EXPECT_LE(count, 1 + reissues[key])
        << "key " << key << " ran " << count << " times but was reissued " << reissues[key];
  }
  // Every succeeded execution left its side effects: the first Task's and the items'.
  for (const auto& [name, e] : by_name) {
    const auto& recorded = states[std::string(e.at("executionId").as_string())];
    EXPECT_TRUE(recorded.contains("Record") && recorded.contains("Each")) << name;
  }

  EXPECT_GE(acked.size(), 150u) << "too few executions to say much";
  std::printf(
      "executions crash test: %zu acknowledged (%zu stored) over %d SIGKILLs; %zu TaskReissued "
      "events; %zu record keys ran more than once; %zu record lines\n",
      acked.size(), by_name.size(), kKills, reissued_events, repeated, total_lines);
  EXPECT_EQ(d.terminate(), 0);
}

}  // namespace
}  // namespace homeostat::testing
