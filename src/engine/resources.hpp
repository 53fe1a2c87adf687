// Task resources: what a Task state's "Resource" names, and the registry that finds the code
// behind it. Later subsystems (actions) register their resources here; for now the registry
// holds the test resources (test_resources.hpp) and, in front of it, the mock layer that
// answers from an AWS Step Functions Local mock file (mocks.hpp).
//
// Invocation is asynchronous: invoke() returns at once and calls `done` exactly once, from any
// thread, when the attempt has an outcome. The engine never holds a thread for a running task.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <variant>

#include "states/intrinsics.hpp"

namespace homeostat::engine {

// One attempt of one Task state.
struct TaskRequest {
  std::string execution_id;
  std::string machine_name;  // the state machine's name, for mock test cases
  std::string state_name;
  std::string resource;      // the state's Resource, as written
  boost::json::value input;  // the state's effective input (after InputPath and Parameters)
  // Stays the same when this attempt is issued again after a crash, so a resource can tell a
  // re-issue from a new attempt: "<execution id>/<history event id of the schedule>".
  std::string idempotency_key;
  int attempt = 0;         // 0 for the first attempt of this visit to the state, 1 for the
                           // first retry, ...
  bool reissued = false;   // true when the engine issues it again after a restart
  int64_t timeout_ms = 0;  // 0: no timeout; the engine enforces it, a resource may use it
};

// The result of an attempt: the task's output, or the error that fails the state.
using TaskOutcome = std::variant<boost::json::value, states::StatesError>;
using TaskCallback = std::function<void(TaskOutcome)>;

// Something that runs Task attempts. Implementations are thread-safe.
class TaskRunner {
 public:
  virtual ~TaskRunner() = default;
  // Starts the attempt and returns; `done` is called exactly once, possibly before invoke()
  // returns, possibly from another thread.
  virtual void invoke(const TaskRequest& request, TaskCallback done) = 0;
};

// Resource names mapped to runners. A name registered with a trailing '*' matches every
// resource that starts with what comes before it ("test:*"); an exact name wins over a prefix,
// and a longer prefix over a shorter one. Thread-safe; runners are shared.
class ResourceRegistry final : public TaskRunner {
 public:
  void add(std::string name, std::shared_ptr<TaskRunner> runner);
  // The runner for `resource`, or nullptr.
  std::shared_ptr<TaskRunner> find(std::string_view resource) const;
  bool contains(std::string_view resource) const { return find(resource) != nullptr; }

  // Runs the request on the runner its resource names. An unknown resource fails the attempt
  // with States.TaskFailed and a cause naming the resource.
  void invoke(const TaskRequest& request, TaskCallback done) override;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<TaskRunner>, std::less<>> exact_;
  std::map<std::string, std::shared_ptr<TaskRunner>, std::less<>> prefixes_;
};

}  // namespace homeostat::engine
