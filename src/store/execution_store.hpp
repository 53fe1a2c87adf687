// The storage interface for durable executions of state machines: the versions of each
// definition, one record per execution with the engine's snapshot of where it stands, the
// append-only history of what happened, and the timers it waits on.
//
// The engine writes an execution only through commit(), which stores the new record, its new
// history events and its timer changes for many executions in one transaction. A snapshot and
// the history that led to it are therefore never out of step: after a crash, the snapshot of
// every open execution is exactly where its history ends.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace homeostat::store {

enum class ExecutionStatus { kRunning, kSucceeded, kFailed, kTimedOut, kAborted };

// "RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", as Step Functions spells them;
// parse_execution_status is the inverse.
const char* execution_status_name(ExecutionStatus status);
std::optional<ExecutionStatus> parse_execution_status(std::string_view name);

struct ExecutionRecord {
  std::string id;             // time-sortable, assigned by the engine
  std::string name;           // unique per state machine; the id when the caller gave none
  std::string state_machine;  // the machine's name
  std::string machine_hash;   // the version of the definition it runs (state_machine_versions)
  ExecutionStatus status = ExecutionStatus::kRunning;
  std::string input;   // JSON text
  std::string output;  // JSON text once it succeeded
  std::string error;   // when it failed, timed out or was aborted
  std::string cause;
  int64_t start_ms = 0;
  int64_t stop_ms = 0;        // 0 while running
  int64_t next_event_id = 1;  // the id its next history event gets
  // The engine's own JSON description of where a running execution stands; empty once it has
  // ended. Opaque to the store.
  std::string snapshot;
};

// One history event. `details` is a JSON object whose members depend on `type`
// (docs/executions.md lists them).
struct HistoryRecord {
  std::string execution_id;
  int64_t event_id = 0;  // 1, 2, 3, ... within the execution
  std::string type;      // e.g. "ExecutionStarted", "TaskScheduled"
  int64_t time_ms = 0;
  std::string details;
};

// A stored timer: the execution must be woken at due_ms. `timer` names it within the execution.
struct TimerRecord {
  std::string execution_id;
  std::string timer;
  int64_t due_ms = 0;
};

// Everything one commit changes for one execution.
struct ExecutionWrite {
  ExecutionRecord execution;  // stored whole: inserted when new, replaced otherwise
  bool create = false;        // true for the first write of an execution
  std::vector<HistoryRecord> events;
  std::vector<TimerRecord> timers_set;
  std::vector<std::string> timers_cleared;  // names within this execution
};

struct ExecutionQuery {
  std::optional<std::string> state_machine;
  std::optional<ExecutionStatus> status;
  std::optional<std::string> before_id;  // newest first, continuing below this id
  size_t limit = 100;
};

// Thread-safe. Each call is one transaction, durable when it returns ok.
class ExecutionStore {
 public:
  virtual ~ExecutionStore() = default;

  // Stores a version of a definition under its content hash; storing the same hash again does
  // nothing.
  virtual core::Status put_machine_version(const std::string& name, const std::string& hash,
                                           const std::string& definition, int64_t now_ms) = 0;
  // The definition stored under `hash`, if any.
  virtual core::Result<std::optional<std::string>> get_machine_version(const std::string& hash) = 0;

  // Applies all writes in one transaction. A create whose id, or whose name within its state
  // machine, already exists fails the whole call with kAlreadyExists; the engine checks names
  // before it commits (find_execution_by_name) so that this only guards against bugs.
  virtual core::Status commit(std::span<const ExecutionWrite> writes) = 0;

  // Every execution still running, with its snapshot, oldest first.
  virtual core::Result<std::vector<ExecutionRecord>> open_executions() = 0;
  // Every stored timer of a running execution.
  virtual core::Result<std::vector<TimerRecord>> timers() = 0;

  virtual core::Result<std::optional<ExecutionRecord>> get_execution(const std::string& id) = 0;
  virtual core::Result<std::optional<ExecutionRecord>> find_execution_by_name(
      const std::string& state_machine, const std::string& name) = 0;
  // Newest first; records come without snapshots.
  virtual core::Result<std::vector<ExecutionRecord>> list_executions(
      const ExecutionQuery& query) = 0;
  // History events with event_id > after_event_id, in order, at most `limit`.
  virtual core::Result<std::vector<HistoryRecord>> history(const std::string& execution_id,
                                                           int64_t after_event_id,
                                                           size_t limit) = 0;
};

}  // namespace homeostat::store
