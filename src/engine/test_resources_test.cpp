#include "engine/test_resources.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "states/errors.hpp"
#include "support/temp_dir.hpp"

namespace homeostat::engine {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

TaskRequest request_for(std::string resource, const char* input_json, int attempt = 0) {
  TaskRequest request;
  request.execution_id = "exec-1";
  request.machine_name = "Machine";
  request.state_name = "Step";
  request.resource = std::move(resource);
  request.input = json::parse(input_json);
  request.idempotency_key = "exec-1/5";
  request.attempt = attempt;
  return request;
}

// Starts the attempt and returns a future for its outcome.
std::future<TaskOutcome> start(TaskRunner& runner, const TaskRequest& request) {
  auto promise = std::make_shared<std::promise<TaskOutcome>>();
  std::future<TaskOutcome> future = promise->get_future();
  runner.invoke(request,
                [promise](TaskOutcome outcome) { promise->set_value(std::move(outcome)); });
  return future;
}

// The outcome as text: the output's JSON, or "error: <name>: <cause>".
std::string describe(const TaskOutcome& outcome) {
  if (const auto* error = std::get_if<states::StatesError>(&outcome)) {
    return "error: " + error->error + ": " + error->cause;
  }
  return json::serialize(std::get<json::value>(outcome));
}

std::string run(TaskRunner& runner, const TaskRequest& request) {
  std::future<TaskOutcome> future = start(runner, request);
  if (future.wait_for(std::chrono::seconds(10)) != std::future_status::ready) return "timed out";
  return describe(future.get());
}

// The number of threads of this process, from /proc.
std::size_t thread_count() {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry :
       std::filesystem::directory_iterator("/proc/self/task")) {
    ++count;
  }
  return count;
}

class TestResources : public ::testing::Test {
 protected:
  void SetUp() override { add_test_resources(registry_, {}); }
  std::string run_on(std::string resource, const char* input_json, int attempt = 0) {
    return run(registry_, request_for(std::move(resource), input_json, attempt));
  }

  ResourceRegistry registry_;
};

// ---------------------------------------------------------------------------------------------
// Immediate resources, table-driven.

template <typename Case>
std::string case_name(const ::testing::TestParamInfo<Case>& param) {
  return param.param.name;
}

struct ResourceCase {
  std::string name;
  std::string resource;
  const char* input;
  int attempt;
  std::string expected;  // describe() of the outcome
};

void PrintTo(const ResourceCase& c, std::ostream* out) {  // NOLINT(readability-identifier-naming)
  *out << c.name;
}

class ImmediateResource : public TestResources,
                          public ::testing::WithParamInterface<ResourceCase> {};

TEST_P(ImmediateResource, AnswersAsDocumented) {
  const ResourceCase& c = GetParam();
  EXPECT_EQ(run_on(c.resource, c.input, c.attempt), c.expected);
}

INSTANTIATE_TEST_SUITE_P(
    Resources, ImmediateResource,
    ::testing::Values(
        ResourceCase{"echo_object", "test:echo", R"({"a":[1,2],"b":null})", 0,
                     R"({"a":[1,2],"b":null})"},
        ResourceCase{"echo_scalar", "test:echo", R"("text")", 3, R"("text")"},
        ResourceCase{"fail_defaults", "test:fail", "{}", 0, "error: Test.Failure: "},
        ResourceCase{"fail_non_object_input_takes_defaults", "test:fail", "[1]", 0,
                     "error: Test.Failure: "},
        ResourceCase{"fail_named", "test:fail", R"({"Error":"Disk.Full","Cause":"no space"})", 0,
                     "error: Disk.Full: no space"},
        ResourceCase{"fail_error_not_string", "test:fail", R"({"Error":7})", 0,
                     "error: Test.BadInput: test:fail: input.Error must be a non-empty string"},
        ResourceCase{"fail_error_empty", "test:fail", R"({"Error":""})", 0,
                     "error: Test.BadInput: test:fail: input.Error must be a non-empty string"},
        ResourceCase{"fail_cause_not_string", "test:fail", R"({"Cause":{}})", 0,
                     "error: Test.BadInput: test:fail: input.Cause must be a string"},
        ResourceCase{"flaky_first_attempt_fails", "test:flaky", "{}", 0,
                     "error: Test.Flaky: test:flaky: planned failure of attempt 0 of 1"},
        ResourceCase{"flaky_second_attempt_succeeds", "test:flaky", R"({"x":1})", 1, R"({"x":1})"},
        ResourceCase{"flaky_zero_failures", "test:flaky", R"({"failures":0})", 0,
                     R"({"failures":0})"},
        ResourceCase{"flaky_still_failing", "test:flaky", R"({"failures":3,"Error":"E"})", 2,
                     "error: E: test:flaky: planned failure of attempt 2 of 3"},
        ResourceCase{"flaky_recovered", "test:flaky", R"({"failures":3.0})", 3,
                     R"({"failures":3E0})"},
        ResourceCase{"flaky_failures_not_integer", "test:flaky", R"({"failures":"2"})", 0,
                     "error: Test.BadInput: test:flaky: input.failures must be an integer from 0 "
                     "to 2147483647"},
        ResourceCase{"flaky_failures_fraction", "test:flaky", R"({"failures":1.5})", 0,
                     "error: Test.BadInput: test:flaky: input.failures must be an integer from 0 "
                     "to 2147483647"},
        ResourceCase{"flaky_failures_negative", "test:flaky", R"({"failures":-1})", 0,
                     "error: Test.BadInput: test:flaky: input.failures must be an integer from 0 "
                     "to 2147483647"},
        ResourceCase{"sleep_ms_not_integer", "test:sleep", R"({"ms":"10"})", 0,
                     "error: Test.BadInput: test:sleep: input.ms must be an integer from 0 to "
                     "3600000"},
        ResourceCase{"sleep_ms_too_long", "test:sleep", R"({"ms":3600001})", 0,
                     "error: Test.BadInput: test:sleep: input.ms must be an integer from 0 to "
                     "3600000"},
        ResourceCase{"sleep_ms_negative", "test:sleep", R"({"ms":-5})", 0,
                     "error: Test.BadInput: test:sleep: input.ms must be an integer from 0 to "
                     "3600000"},
        ResourceCase{"sleep_zero", "test:sleep", R"({"ms":0})", 0, R"({"ms":0})"}),
    case_name<ResourceCase>);

TEST_F(TestResources, FlakyDependsOnlyOnTheAttemptNumber) {
  // The same attempt gives the same answer however often it is asked, re-issued or not.
  TaskRequest request = request_for("test:flaky", R"({"failures":2})", 1);
  const std::string first = run(registry_, request);
  request.reissued = true;
  EXPECT_EQ(run(registry_, request), first);
  EXPECT_EQ(first, "error: Test.Flaky: test:flaky: planned failure of attempt 1 of 2");
}

TEST_F(TestResources, RecordIsAbsentWithoutAFile) {
  EXPECT_FALSE(registry_.contains("test:record"));
  EXPECT_TRUE(registry_.contains("test:echo"));
  EXPECT_TRUE(registry_.contains("test:sleep"));
}

// ---------------------------------------------------------------------------------------------
// test:sleep.

TEST_F(TestResources, SleepReturnsItsInputAfterTheDelay) {
  const auto started = steady_clock::now();
  std::future<TaskOutcome> future =
      start(registry_, request_for("test:sleep", R"({"ms":150,"keep":true})"));
  // Far shorter than the sleep: the attempt must not be answered yet.
  EXPECT_EQ(future.wait_for(milliseconds(20)), std::future_status::timeout);

  ASSERT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_GE(steady_clock::now() - started, milliseconds(150));
  EXPECT_EQ(describe(future.get()), R"({"ms":150,"keep":true})");
}

TEST_F(TestResources, SleepsCompleteInOrderOfTheirDeadlines) {
  std::mutex mutex;
  std::vector<int> order;
  std::vector<std::future<TaskOutcome>> futures;
  for (int ms : {300, 60, 180}) {
    auto promise = std::make_shared<std::promise<TaskOutcome>>();
    futures.push_back(promise->get_future());
    registry_.invoke(request_for("test:sleep", ("{\"ms\":" + std::to_string(ms) + "}").c_str()),
                     [&, ms, promise](TaskOutcome outcome) {
                       {
                         std::lock_guard lock(mutex);
                         order.push_back(ms);
                       }
                       promise->set_value(std::move(outcome));
                     });
  }
  for (auto& future : futures) {
    ASSERT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  }
  EXPECT_EQ(order, (std::vector<int>{60, 180, 300}));
}

TEST_F(TestResources, ThousandConcurrentSleepsShareOneThread) {
  constexpr int kSleeps = 1000;
  const std::size_t threads_before = thread_count();
  std::mutex mutex;
  std::set<std::thread::id> callback_threads;
  std::atomic<int> succeeded{0};
  std::promise<void> all_done;
  std::atomic<int> remaining{kSleeps};

  // Every attempt sleeps 300 ms; run one after another they would take five minutes.
  const auto started = steady_clock::now();
  for (int i = 0; i < kSleeps; ++i) {
    registry_.invoke(request_for("test:sleep", R"({"ms":300})"), [&](const TaskOutcome& outcome) {
      if (std::holds_alternative<json::value>(outcome)) ++succeeded;
      {
        std::lock_guard lock(mutex);
        callback_threads.insert(std::this_thread::get_id());
      }
      if (--remaining == 0) all_done.set_value();
    });
  }
  const std::size_t threads_during = thread_count();

  std::future<void> done = all_done.get_future();
  ASSERT_EQ(done.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_LT(steady_clock::now() - started, std::chrono::seconds(20));
  EXPECT_EQ(succeeded.load(), kSleeps);
  EXPECT_EQ(callback_threads.size(), 1U);
  EXPECT_EQ(callback_threads.count(std::this_thread::get_id()), 0U);
  // The timer thread started with the registry, so sleeping adds no thread at all.
  EXPECT_EQ(threads_during, threads_before);
}

TEST(TestSleep, ShutdownCompletesSleepersWithAnError) {
  auto registry = std::make_unique<ResourceRegistry>();
  add_test_resources(*registry, {});
  std::future<TaskOutcome> long_sleep =
      start(*registry, request_for("test:sleep", R"({"ms":3600000})"));
  std::future<TaskOutcome> short_sleep = start(*registry, request_for("test:sleep", R"({"ms":1})"));
  ASSERT_EQ(short_sleep.wait_for(std::chrono::seconds(10)), std::future_status::ready);

  const auto started = steady_clock::now();
  registry.reset();
  ASSERT_EQ(long_sleep.wait_for(milliseconds(0)), std::future_status::ready);
  EXPECT_LT(steady_clock::now() - started, std::chrono::seconds(5));
  EXPECT_EQ(describe(long_sleep.get()), "error: States.TaskFailed: test:sleep: shutting down");
  EXPECT_EQ(describe(short_sleep.get()), R"({"ms":1})");
}

TEST(TestSleep, RegistryMayBeDestroyedFromASleepCallback) {
  auto registry = std::make_shared<ResourceRegistry>();
  add_test_resources(*registry, {});
  std::promise<std::string> destroyed;
  std::future<TaskOutcome> pending =
      start(*registry, request_for("test:sleep", R"({"ms":3600000})"));

  // The callback holds the last reference; dropping it destroys the sleep runner on the timer
  // thread itself, which must neither deadlock nor lose the pending attempt.
  auto holder = std::make_shared<std::shared_ptr<ResourceRegistry>>(registry);
  registry->invoke(request_for("test:sleep", R"({"ms":1})"),
                   [holder, &destroyed](const TaskOutcome&) {
                     holder->reset();
                     destroyed.set_value("done");
                   });
  registry.reset();

  std::future<std::string> done = destroyed.get_future();
  ASSERT_EQ(done.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  ASSERT_EQ(pending.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(describe(pending.get()), "error: States.TaskFailed: test:sleep: shutting down");
}

// ---------------------------------------------------------------------------------------------
// test:record.

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  return lines;
}

TEST(TestRecord, AppendsOneDurableLinePerAttempt) {
  homeostat::testing::TempDir dir;
  ResourceRegistry registry;
  add_test_resources(registry, {.record_file = dir.file("record.jsonl")});

  TaskRequest request = request_for("test:record", R"({"path":"/etc/passwd","x":1})");
  request.state_name = "Say \"hi\"";
  EXPECT_EQ(run(registry, request), R"({"path":"/etc/passwd","x":1})");
  request.attempt = 1;
  request.reissued = true;
  EXPECT_EQ(run(registry, request), R"({"path":"/etc/passwd","x":1})");

  // The input's "path" is data, never a file name: only the configured file exists.
  EXPECT_EQ(lines_of(dir.file("record.jsonl")),
            (std::vector<std::string>{
                R"({"key": "exec-1/5", "execution": "exec-1", "state": "Say \"hi\"", )"
                R"("attempt": 0, "reissued": false})",
                R"({"key": "exec-1/5", "execution": "exec-1", "state": "Say \"hi\"", )"
                R"("attempt": 1, "reissued": true})"}));
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    ++files;
  }
  EXPECT_EQ(files, 1U);
  for (const std::string& line : lines_of(dir.file("record.jsonl"))) {
    EXPECT_NO_THROW((void)json::parse(line)) << line;
  }
}

TEST(TestRecord, FailsTheAttemptWhenTheFileCannotBeWritten) {
  homeostat::testing::TempDir dir;
  ResourceRegistry registry;
  const std::string path = dir.file("missing-dir/record.jsonl");
  add_test_resources(registry, {.record_file = path});
  EXPECT_EQ(run(registry, request_for("test:record", "{}")),
            "error: States.TaskFailed: test:record: cannot append to " + path +
                ": No such file or directory");
}

TEST(TestRecord, ConcurrentAttemptsKeepLinesWhole) {
  homeostat::testing::TempDir dir;
  ResourceRegistry registry;
  add_test_resources(registry, {.record_file = dir.file("record.jsonl")});

  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&registry, t] {
      for (int i = 0; i < 25; ++i) {
        TaskRequest request = request_for("test:record", "{}", i);
        request.execution_id = "exec-" + std::to_string(t);
        run(registry, request);
      }
    });
  }
  for (std::thread& thread : threads)
    thread.join();

  const std::vector<std::string> lines = lines_of(dir.file("record.jsonl"));
  EXPECT_EQ(lines.size(), 100U);
  for (const std::string& line : lines)
    EXPECT_NO_THROW((void)json::parse(line)) << line;
}

}  // namespace
}  // namespace homeostat::engine
