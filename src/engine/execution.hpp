// One execution in memory: its frames, what it has recorded since its last commit, and what
// must happen once that is durable. engine.cpp owns the threads; this file owns the semantics
// of moving an execution forward (advance()) and its snapshot format.
//
// Not thread-safe: the engine lets one thread at a time touch an Execution, apart from the
// inbox, which has its own mutex.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/result.hpp"
#include "engine/resources.hpp"
#include "states/machine.hpp"
#include "states/step.hpp"
#include "store/execution_store.hpp"

namespace homeostat::engine {

// The name of the timer that ends an execution whose machine sets TimeoutSeconds.
inline constexpr const char* kExecutionTimer = "execution";

// One running machine: the execution's own (the root, parent -1), or a Parallel branch or Map
// item run by the state its parent frame stands in.
struct Frame {
  enum class Waiting { kNothing, kTask, kWait, kRetry, kBranches };

  int id = 0;
  int parent = -1;
  int index = 0;  // the branch or item index within the parent's state
  const states::StateMachine* machine = nullptr;
  std::string state;         // the state it stands in
  boost::json::value input;  // that state's raw input
  int64_t entered_ms = 0;
  std::vector<int> retries;  // per retrier, for this visit
  Waiting waiting = Waiting::kNothing;
  std::string timer;  // the timer it waits on, "" when none

  // Waiting for a task attempt.
  std::string task_key;
  std::string resource;
  boost::json::value task_input;
  int attempt = 0;
  int64_t timeout_ms = 0;
  std::string timeout_error;  // States.Timeout or States.HeartbeatTimeout, for `timer`

  // Waiting in a Wait state.
  boost::json::value wait_output;

  // Waiting for branches or items.
  std::vector<boost::json::value> branch_inputs;
  std::vector<std::optional<states::BranchOutcome>> outcomes;
  size_t next_branch = 0;
  int64_t max_concurrency = 0;
  int running = 0;
  int64_t failed = 0;
};

// Something that happened to an execution from outside: it was started, a task attempt ended,
// a timer fired, someone asked it to stop.
struct Input {
  enum class Kind { kStart, kTaskDone, kTimer, kStop };
  explicit Input(Kind k) : kind(k) {}

  Kind kind;
  std::string key;  // kTaskDone: the idempotency key; kTimer: the timer's name
  TaskOutcome outcome;
  std::string error;  // kStop
  std::string cause;  // kStop
};

struct Execution {
  enum class Phase { kIdle, kQueued, kRunning, kCommitting };

  // Guarded by `mutex`: the only members other threads touch.
  std::mutex mutex;
  Phase phase = Phase::kIdle;
  std::vector<Input> inbox;

  // Owned by whichever thread holds the execution.
  store::ExecutionRecord record;
  std::shared_ptr<const states::StateMachine> machine;
  std::map<int, Frame> frames;
  int next_frame = 0;
  states::Context context;
  bool ended = false;

  // Since the last commit.
  bool create = false;
  std::vector<store::HistoryRecord> events;
  std::vector<store::TimerRecord> timers_set;
  std::vector<std::string> timers_cleared;
  int64_t transitions = 0;

  // To do once the commit is durable.
  std::vector<TaskRequest> invocations;
  std::function<void(core::Result<store::ExecutionRecord>)> on_started;
};

// What advance() needs from the engine.
struct AdvanceEnv {
  int64_t now_ms = 0;
  std::function<double()> random;
};

// Builds the execution's context object from its record (Execution, StateMachine members).
void init_context(Execution& execution);

// Applies every input in `inputs` to the execution and moves its frames as far as they go.
// Records history, timer changes and invocations in the execution's pending lists.
void advance(Execution& execution, std::vector<Input> inputs, const AdvanceEnv& env);

// Builds the JSON object text of a history event's details field by field, serialising values
// straight into the text instead of copying them into a JSON object first.
class Details {
 public:
  Details& field(std::string_view key, int64_t value);
  Details& field(std::string_view key, std::string_view value);
  Details& field(std::string_view key, const std::string& value) {
    return field(key, std::string_view(value));
  }
  Details& field(std::string_view key, const char* value) {
    return field(key, std::string_view(value));
  }
  Details& field(std::string_view key, const boost::json::value& value);
  // The finished object.
  std::string text() { return std::move(text_) + "}"; }

 private:
  void key(std::string_view key);

  std::string text_ = "{";
};

// The request for the task attempt `frame` waits on; `reissued` after a restart.
TaskRequest task_request(const Execution& execution, const Frame& frame, bool reissued);

// Appends a history event of `type` with `details` to the pending list.
void record_event(Execution& execution, const char* type, std::string details, int64_t now_ms);

// The snapshot: the frames as JSON text, and back. load_snapshot() needs execution.machine and
// execution.record set; it fails with kInternal when the snapshot does not fit the machine.
std::string save_snapshot(const Execution& execution);
core::Status load_snapshot(Execution& execution, const std::string& text);

}  // namespace homeostat::engine
