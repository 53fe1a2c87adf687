// The test resources. Each is a small TaskRunner; test:sleep is the only one with state.
//
// test:sleep keeps every sleeping attempt in one heap ordered by due time, served by one timer
// thread that waits on a condition variable until the earliest due time (or until a new,
// earlier attempt arrives) and then completes what is due, outside the lock. A thousand
// sleeping attempts therefore cost a thousand heap entries, not a thousand threads. When the
// runner goes away, attempts still sleeping are completed with States.TaskFailed "test:sleep:
// shutting down" rather than dropped, so every `done` is still called exactly once.
#include "engine/test_resources.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "core/json.hpp"
#include "states/errors.hpp"

namespace homeostat::engine {
namespace {

namespace json = boost::json;
using SteadyTime = std::chrono::steady_clock::time_point;

// Reads the optional fields of a test resource's input. The first unusable field is kept as
// the error; later reads return their defaults, so a runner reads all its fields and then
// checks error() once.
class InputReader {
 public:
  InputReader(std::string_view resource, const json::value& input)
      : resource_(resource), fields_(input.if_object()) {}

  // An integer within [min, max]; 2.0 counts as 2, as everywhere in the States Language.
  int64_t integer(std::string_view field, int64_t min, int64_t max, int64_t fallback) {
    const json::value* value = find(field);
    if (value == nullptr) return fallback;

    std::optional<double> number;
    if (value->is_int64()) number = static_cast<double>(value->get_int64());
    if (value->is_uint64()) number = static_cast<double>(value->get_uint64());
    if (value->is_double() && std::isfinite(value->get_double()) &&
        std::floor(value->get_double()) == value->get_double()) {
      number = value->get_double();
    }
    if (!number || *number < static_cast<double>(min) || *number > static_cast<double>(max)) {
      fail(field, "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
      return fallback;
    }
    return static_cast<int64_t>(*number);
  }

  // A string; `non_empty` refuses "".
  std::string string(std::string_view field, bool non_empty, std::string fallback) {
    const json::value* value = find(field);
    if (value == nullptr) return fallback;

    if (!value->is_string() || (non_empty && value->get_string().empty())) {
      fail(field, non_empty ? "must be a non-empty string" : "must be a string");
      return fallback;
    }
    return std::string(value->get_string());
  }

  const std::optional<states::StatesError>& error() const { return error_; }

 private:
  const json::value* find(std::string_view field) const {
    return fields_ == nullptr ? nullptr : fields_->if_contains(field);
  }

  void fail(std::string_view field, const std::string& problem) {
    if (error_) return;
    error_ = states::StatesError{std::string(kBadInput), std::string(resource_) + ": input." +
                                                             std::string(field) + " " + problem};
  }

  std::string_view resource_;
  const json::object* fields_;
  std::optional<states::StatesError> error_;
};

class EchoRunner final : public TaskRunner {
 public:
  void invoke(const TaskRequest& request, TaskCallback done) override { done(request.input); }
};

class FailRunner final : public TaskRunner {
 public:
  void invoke(const TaskRequest& request, TaskCallback done) override {
    InputReader reader("test:fail", request.input);
    std::string error = reader.string("Error", true, "Test.Failure");
    std::string cause = reader.string("Cause", false, "");
    if (reader.error()) {
      done(*reader.error());
      return;
    }

    done(states::StatesError{std::move(error), std::move(cause)});
  }
};

// Fails the first `failures` attempts of each visit to the state and succeeds afterwards. It
// keeps no count of its own: the attempt number in the request decides, so the outcome is the
// same however often the engine restarts or re-issues an attempt.
class FlakyRunner final : public TaskRunner {
 public:
  void invoke(const TaskRequest& request, TaskCallback done) override {
    InputReader reader("test:flaky", request.input);
    const int64_t failures = reader.integer("failures", 0, INT_MAX, 1);
    std::string error = reader.string("Error", true, "Test.Flaky");
    if (reader.error()) {
      done(*reader.error());
      return;
    }

    if (request.attempt < failures) {
      done(states::StatesError{std::move(error), "test:flaky: planned failure of attempt " +
                                                     std::to_string(request.attempt) + " of " +
                                                     std::to_string(failures)});
      return;
    }
    done(request.input);
  }
};

// One attempt waiting in test:sleep.
struct Sleeper {
  SteadyTime due;
  uint64_t sequence = 0;  // breaks ties between equal due times: first in, first out
  TaskCallback done;
  json::value output;
};

// Heap order: the earliest due time on top.
bool later(const Sleeper& a, const Sleeper& b) {
  return a.due != b.due ? a.due > b.due : a.sequence > b.sequence;
}

// What the timer thread shares with the runner. The thread holds its own reference, so it can
// finish safely even when the runner is destroyed from inside one of its callbacks.
struct SleepQueue {
  std::mutex mutex;
  std::condition_variable wake;
  std::vector<Sleeper> heap;  // ordered by later()
  uint64_t next_sequence = 0;
  bool stopping = false;
};

// The timer thread: completes each sleeper when it is due, with the lock released so that a
// callback may start another sleep. Callbacks run one after another on this thread, so a slow
// callback delays the ones due after it.
void run_timer(const std::shared_ptr<SleepQueue>& queue) {
  std::unique_lock lock(queue->mutex);
  while (!queue->stopping) {
    if (queue->heap.empty()) {
      queue->wake.wait(lock);
      continue;
    }
    // A copy: wait_until reads the deadline again after waking, when the heap may have moved.
    const SteadyTime due = queue->heap.front().due;
    if (std::chrono::steady_clock::now() < due) {
      queue->wake.wait_until(lock, due);
      continue;
    }

    std::pop_heap(queue->heap.begin(), queue->heap.end(), later);
    Sleeper sleeper = std::move(queue->heap.back());
    queue->heap.pop_back();
    lock.unlock();
    sleeper.done(std::move(sleeper.output));
    lock.lock();
  }
}

class SleepRunner final : public TaskRunner {
 public:
  SleepRunner() : queue_(std::make_shared<SleepQueue>()), thread_(run_timer, queue_) {}

  SleepRunner(const SleepRunner&) = delete;
  SleepRunner& operator=(const SleepRunner&) = delete;

  ~SleepRunner() override {
    // Stop the thread first, so that nothing is completed twice, then answer what was still
    // sleeping on this thread.
    std::vector<Sleeper> pending;
    {
      std::lock_guard lock(queue_->mutex);
      queue_->stopping = true;
      pending.swap(queue_->heap);
    }
    queue_->wake.notify_all();
    if (thread_.get_id() == std::this_thread::get_id()) {
      thread_.detach();  // destroyed from a callback; the thread ends once it returns
    } else {
      thread_.join();
    }

    std::sort(pending.begin(), pending.end(),
              [](const Sleeper& a, const Sleeper& b) { return later(b, a); });
    for (Sleeper& sleeper : pending) {
      sleeper.done(
          states::StatesError{std::string(states::kTaskFailed), "test:sleep: shutting down"});
    }
  }

  void invoke(const TaskRequest& request, TaskCallback done) override {
    InputReader reader("test:sleep", request.input);
    const int64_t ms = reader.integer("ms", 0, kMaxTestSleepMs, 100);
    if (reader.error()) {
      done(*reader.error());
      return;
    }

    Sleeper sleeper{std::chrono::steady_clock::now() + std::chrono::milliseconds(ms), 0,
                    std::move(done), request.input};
    bool earliest = false;
    {
      std::lock_guard lock(queue_->mutex);
      sleeper.sequence = queue_->next_sequence++;
      queue_->heap.push_back(std::move(sleeper));
      std::push_heap(queue_->heap.begin(), queue_->heap.end(), later);
      earliest = queue_->heap.front().sequence == queue_->next_sequence - 1;
    }
    // Only a new earliest deadline changes how long the timer thread must wait.
    if (earliest) queue_->wake.notify_one();
  }

 private:
  std::shared_ptr<SleepQueue> queue_;
  std::thread thread_;
};

// Appends one line per attempt and makes it durable before the attempt succeeds, so a crash
// test can count side effects: a line exists for every attempt that returned, and possibly for
// one that was cut off between the fsync and the engine's record of the outcome.
class RecordRunner final : public TaskRunner {
 public:
  explicit RecordRunner(std::string path) : path_(std::move(path)) {}

  void invoke(const TaskRequest& request, TaskCallback done) override {
    std::string line = "{\"key\": " + core::json_quote(request.idempotency_key) +
                       ", \"execution\": " + core::json_quote(request.execution_id) +
                       ", \"state\": " + core::json_quote(request.state_name) +
                       ", \"attempt\": " + std::to_string(request.attempt) +
                       ", \"reissued\": " + (request.reissued ? "true" : "false") + "}\n";
    if (auto failure = append(line)) {
      done(states::StatesError{std::string(states::kTaskFailed),
                               "test:record: cannot append to " + path_ + ": " + *failure});
      return;
    }

    done(request.input);
  }

 private:
  // Writes `line` at the end of the file and fsyncs it; returns what went wrong, if anything.
  // The mutex keeps lines whole when attempts run on several threads.
  std::optional<std::string> append(const std::string& line) {
    std::lock_guard lock(mutex_);
    const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return std::error_code(errno, std::generic_category()).message();

    std::optional<std::string> failure;
    std::size_t written = 0;
    while (written < line.size() && !failure) {
      const ssize_t n = ::write(fd, line.data() + written, line.size() - written);
      if (n < 0 && errno != EINTR)
        failure = std::error_code(errno, std::generic_category()).message();
      if (n > 0) written += static_cast<std::size_t>(n);
    }
    if (!failure && ::fsync(fd) != 0) {
      failure = std::error_code(errno, std::generic_category()).message();
    }
    ::close(fd);
    return failure;
  }

  std::string path_;
  std::mutex mutex_;
};

}  // namespace

void add_test_resources(ResourceRegistry& registry, TestResourceOptions options) {
  registry.add("test:echo", std::make_shared<EchoRunner>());
  registry.add("test:fail", std::make_shared<FailRunner>());
  registry.add("test:flaky", std::make_shared<FlakyRunner>());
  registry.add("test:sleep", std::make_shared<SleepRunner>());
  if (!options.record_file.empty()) {
    registry.add("test:record", std::make_shared<RecordRunner>(std::move(options.record_file)));
  }
}

}  // namespace homeostat::engine
