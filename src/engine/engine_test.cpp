#include "engine/engine.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/test_resources.hpp"
#include "store/memory/execution_store.hpp"
#include "store/sqlite/execution_store.hpp"
#include "support/temp_dir.hpp"

namespace homeostat::engine {
namespace {
namespace json = boost::json;
using namespace std::chrono_literals;

constexpr int64_t kStart = 1767225600000;  // 2026-01-01T00:00:00Z

// Records every request and completes none until told to: the attempt stays in flight.
class HeldTasks final : public TaskRunner {
 public:
  void invoke(const TaskRequest& request, TaskCallback done) override {
    std::lock_guard lock(mutex_);
    requests_.push_back(request);
    callbacks_.push_back(std::move(done));
  }
  std::vector<TaskRequest> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  void complete_all(const json::value& output) {
    std::vector<TaskCallback> callbacks;
    {
      std::lock_guard lock(mutex_);
      callbacks.swap(callbacks_);
    }
    for (auto& callback : callbacks)
      callback(output);
  }

 private:
  std::mutex mutex_;
  std::vector<TaskRequest> requests_;
  std::vector<TaskCallback> callbacks_;
};

std::vector<std::string> history_types(store::ExecutionStore& store, const std::string& id) {
  auto history = store.history(id, 0, 10000);
  EXPECT_TRUE(history.ok());
  std::vector<std::string> types;
  for (const auto& event : *history)
    types.push_back(event.type);
  return types;
}

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    add_test_resources(registry_, TestResourceOptions{});
    open_engine();
  }

  void open_engine() {
    EngineOptions options;
    options.store = &store_;
    options.tasks = &registry_;
    options.virtual_time = true;
    options.manual_clock = &clock_;
    options.random = [] { return 0.5; };
    auto engine = Engine::open(options);
    ASSERT_TRUE(engine.ok()) << engine.error().message();
    engine_ = std::move(*engine);
  }

  store::ExecutionRecord run(const std::string& definition, const std::string& input) {
    auto hash = engine_->register_machine("m", definition);
    EXPECT_TRUE(hash.ok()) << (hash.ok() ? "" : hash.error().message());
    StartRequest request;
    request.state_machine = "m";
    request.input = json::parse(input);
    auto started = engine_->start(request);
    EXPECT_TRUE(started.ok()) << (started.ok() ? "" : started.error().message());
    if (!started.ok()) return {};
    auto ended = engine_->wait(started->id, 10s);
    EXPECT_TRUE(ended.ok());
    return ended.ok() ? *ended : store::ExecutionRecord{};
  }

  core::ManualClock clock_{kStart};
  store::memory::MemoryExecutionStore store_;
  ResourceRegistry registry_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(EngineTest, RunsPassStatesToTheEnd) {
  auto record = run(R"js({"StartAt": "A", "States": {
      "A": {"Type": "Pass", "Result": 1, "ResultPath": "$.a", "Next": "B"},
      "B": {"Type": "Pass", "Parameters": {"sum.$": "States.MathAdd($.a, $.b)"}, "End": true}}})js",
                    R"({"b": 41})");
  EXPECT_EQ(record.status, store::ExecutionStatus::kSucceeded);
  EXPECT_EQ(json::parse(record.output), json::parse(R"({"sum": 42})"));
  EXPECT_EQ(history_types(store_, record.id),
            (std::vector<std::string>{"ExecutionStarted", "StateEntered", "StateExited",
                                      "StateEntered", "StateExited", "ExecutionSucceeded"}));
}

TEST_F(EngineTest, RunsTasksAndAppliesTheResultPath) {
  auto record = run(R"({"StartAt": "T", "States": {
      "T": {"Type": "Task", "Resource": "test:echo", "Parameters": {"x.$": "$.v"},
            "ResultPath": "$.r", "End": true}}})",
                    R"({"v": [1, 2]})");
  EXPECT_EQ(record.status, store::ExecutionStatus::kSucceeded);
  EXPECT_EQ(json::parse(record.output), json::parse(R"({"v": [1, 2], "r": {"x": [1, 2]}})"));
}

TEST_F(EngineTest, WaitsInVirtualTimeWithoutSleeping) {
  const auto before = std::chrono::steady_clock::now();
  auto record = run(R"({"StartAt": "W", "States": {
      "W": {"Type": "Wait", "Seconds": 3600, "Next": "P"},
      "P": {"Type": "Pass", "Parameters": {"t.$": "$$.State.EnteredTime"}, "End": true}}})",
                    "{}");
  EXPECT_LT(std::chrono::steady_clock::now() - before, 5s);
  EXPECT_EQ(record.status, store::ExecutionStatus::kSucceeded);
  EXPECT_EQ(json::parse(record.output), json::parse(R"({"t": "2026-01-01T01:00:00.000Z"})"));
}

TEST_F(EngineTest, RetriesThenCatches) {
  auto record = run(R"({"StartAt": "T", "States": {
      "T": {"Type": "Task", "Resource": "test:fail", "Parameters": {"Error": "Boom"},
            "Retry": [{"ErrorEquals": ["Boom"], "MaxAttempts": 2, "IntervalSeconds": 1}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "Done"}],
            "End": true},
      "Done": {"Type": "Succeed"}}})",
                    R"({"keep": true})");
  EXPECT_EQ(record.status, store::ExecutionStatus::kSucceeded);
  auto output = json::parse(record.output);
  EXPECT_EQ(output.at("err").at("Error"), "Boom");
  EXPECT_EQ(output.at("keep"), true);
  auto types = history_types(store_, record.id);
  EXPECT_EQ(std::count(types.begin(), types.end(), "TaskScheduled"), 3);
  EXPECT_EQ(std::count(types.begin(), types.end(), "RetryScheduled"), 2);
  EXPECT_EQ(std::count(types.begin(), types.end(), "ErrorCaught"), 1);
}

TEST_F(EngineTest, ParallelAndMapCollectResultsInOrder) {
  auto record = run(R"({"StartAt": "P", "States": {
      "P": {"Type": "Parallel", "Next": "M", "ResultPath": "$.p", "Branches": [
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": "a", "End": true}}},
        {"StartAt": "B", "States": {"B": {"Type": "Task", "Resource": "test:echo",
                                          "Parameters": {"b": 1}, "End": true}}}]},
      "M": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2, "ResultPath": "$.m",
            "ItemSelector": {"i.$": "$$.Map.Item.Index", "v.$": "$$.Map.Item.Value"},
            "ItemProcessor": {"StartAt": "E", "States": {
              "E": {"Type": "Task", "Resource": "test:echo", "End": true}}},
            "End": true}}})",
                    R"({"items": ["x", "y", "z"]})");
  EXPECT_EQ(record.status, store::ExecutionStatus::kSucceeded);
  auto output = json::parse(record.output);
  EXPECT_EQ(output.at("p"), json::parse(R"(["a", {"b": 1}])"));
  EXPECT_EQ(output.at("m"),
            json::parse(R"([{"i": 0, "v": "x"}, {"i": 1, "v": "y"}, {"i": 2, "v": "z"}])"));
}

TEST_F(EngineTest, AFailingBranchFailsTheParallelState) {
  auto record = run(R"({"StartAt": "P", "States": {
      "P": {"Type": "Parallel", "End": true, "Branches": [
        {"StartAt": "A", "States": {"A": {"Type": "Wait", "Seconds": 10, "End": true}}},
        {"StartAt": "B", "States": {"B": {"Type": "Fail", "Error": "Bad", "Cause": "b"}}}]}}})",
                    "{}");
  EXPECT_EQ(record.status, store::ExecutionStatus::kFailed);
  EXPECT_EQ(record.error, "Bad");
  EXPECT_EQ(record.cause, "b");
}

TEST_F(EngineTest, RefusesATakenName) {
  ASSERT_TRUE(engine_
                  ->register_machine("m", R"({"StartAt": "S", "States": {
      "S": {"Type": "Succeed"}}})")
                  .ok());
  StartRequest request{"m", "once"};
  ASSERT_TRUE(engine_->start(request).ok());
  auto again = engine_->start(request);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), core::ErrorCode::kAlreadyExists);
}

TEST_F(EngineTest, StopsARunningExecution) {
  ASSERT_TRUE(engine_
                  ->register_machine("m", R"({"StartAt": "T", "States": {
      "T": {"Type": "Task", "Resource": "test:sleep", "Parameters": {"ms": 60000},
            "End": true}}})")
                  .ok());
  auto started = engine_->start(StartRequest{.state_machine = "m"});
  ASSERT_TRUE(started.ok());
  ASSERT_TRUE(engine_->stop(started->id, "Operator.Stop", "asked to").ok());
  auto ended = engine_->wait(started->id, 10s);
  ASSERT_TRUE(ended.ok());
  EXPECT_EQ(ended->status, store::ExecutionStatus::kAborted);
  EXPECT_EQ(ended->error, "Operator.Stop");
}

// Starts racing a shutdown must all come back, answered or refused, never left waiting.
TEST(EngineShutdownTest, StartsRacingShutdownAllReturn) {
  for (int round = 0; round < 100; ++round) {
    store::memory::MemoryExecutionStore store;
    ResourceRegistry registry;
    auto engine = Engine::open(EngineOptions{.store = &store, .tasks = &registry});
    ASSERT_TRUE(engine.ok());
    ASSERT_TRUE((*engine)
                    ->register_machine("m", R"({"StartAt": "S", "States": {
        "S": {"Type": "Succeed"}}})")
                    .ok());
    std::atomic<bool> go{true};
    std::atomic<int> refused{0};
    std::vector<std::thread> starters;
    for (int t = 0; t < 4; ++t) {
      starters.emplace_back([&] {
        while (go) {
          auto started = (*engine)->start(StartRequest{.state_machine = "m"});
          if (!started.ok()) {
            EXPECT_EQ(started.error().code(), core::ErrorCode::kUnavailable);
            ++refused;
          }
        }
      });
    }
    std::this_thread::sleep_for(2ms);
    (*engine)->shutdown();
    std::this_thread::sleep_for(1ms);  // starts after the shutdown must be refused
    go = false;
    for (auto& starter : starters)
      starter.join();  // a hang here fails by the test timeout
    EXPECT_GT(refused.load(), 0);
  }
}

// After a restart, an attempt that was in flight goes out again with the same key, and the
// history says so.
TEST(EngineRecoveryTest, ReissuesAnAttemptInFlightWithTheSameKey) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/executions.db";
  const std::string definition = R"({"StartAt": "T", "States": {
      "T": {"Type": "Task", "Resource": "held", "Next": "W"},
      "W": {"Type": "Wait", "Seconds": 1, "End": true}}})";
  std::string id;
  std::string first_key;
  {
    auto store = store::sqlite::SqliteExecutionStore::open({path});
    ASSERT_TRUE(store.ok()) << store.error().message();
    HeldTasks held;
    auto engine = Engine::open(EngineOptions{.store = store->get(), .tasks = &held});
    ASSERT_TRUE(engine.ok());
    ASSERT_TRUE((*engine)->register_machine("m", definition).ok());
    auto started = (*engine)->start(StartRequest{.state_machine = "m"});
    ASSERT_TRUE(started.ok());
    id = started->id;
    for (int i = 0; i < 200 && held.requests().empty(); ++i)
      std::this_thread::sleep_for(10ms);
    ASSERT_EQ(held.requests().size(), 1u);
    first_key = held.requests()[0].idempotency_key;
    EXPECT_FALSE(held.requests()[0].reissued);
    (*engine)->shutdown();
  }

  auto store = store::sqlite::SqliteExecutionStore::open({path});
  ASSERT_TRUE(store.ok());
  HeldTasks held;
  auto engine = Engine::open(EngineOptions{.store = store->get(), .tasks = &held});
  ASSERT_TRUE(engine.ok()) << engine.error().message();
  for (int i = 0; i < 200 && held.requests().empty(); ++i)
    std::this_thread::sleep_for(10ms);
  ASSERT_EQ(held.requests().size(), 1u);
  EXPECT_EQ(held.requests()[0].idempotency_key, first_key);
  EXPECT_TRUE(held.requests()[0].reissued);

  held.complete_all(json::parse(R"({"done": true})"));
  auto ended = (*engine)->wait(id, 10s);
  ASSERT_TRUE(ended.ok());
  EXPECT_EQ(ended->status, store::ExecutionStatus::kSucceeded);
  EXPECT_EQ(json::parse(ended->output), json::parse(R"({"done": true})"));
  auto types = history_types(**store, id);
  EXPECT_EQ(std::count(types.begin(), types.end(), "TaskReissued"), 1);
  EXPECT_EQ(std::count(types.begin(), types.end(), "TaskScheduled"), 1);
}

}  // namespace
}  // namespace homeostat::engine
