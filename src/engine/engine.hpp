// The durable execution engine: runs state machines of the Amazon States Language to their end
// and survives crashes on the way.
//
// Design. An execution is a tree of frames: the root frame runs the machine, and a Parallel or
// Map state runs one child frame per branch or item. Each frame stands in one state at a time.
// Everything that happens is appended to the execution's history (store/execution_store.hpp),
// and the execution's snapshot (its frames, as JSON) is written in the same transaction, so the
// snapshot always matches the end of the history.
//
// Threads. Worker threads advance executions: a worker takes an execution that has new input
// (started, a task ended, a timer fired, a stop was asked for), moves its frames as far as they
// can go without waiting, and hands the new history and snapshot to the committer. One
// committer thread writes the work of every execution that is ready in one transaction (group
// commit), and only then lets the effects happen: tasks are invoked, timers armed, waiters told.
// An execution is in the hands of at most one thread at a time, so its frames need no lock.
//
// Durability. Nothing outside the engine sees a step before it is committed. A task attempt is
// invoked only after its TaskScheduled event is durable; its idempotency key is
// "<execution id>/<event id of that event>". After a crash the engine loads every running
// execution's snapshot, issues each attempt that was in flight again with the same key and a
// TaskReissued event in the history, and re-arms the stored timers. A timer is a row in the
// store and an entry in one timer thread's queue; no thread sleeps for a Wait state.
#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "engine/resources.hpp"
#include "states/machine.hpp"
#include "store/execution_store.hpp"

namespace homeostat::engine {

struct EngineOptions {
  store::ExecutionStore* store = nullptr;  // required; outlives the engine
  TaskRunner* tasks = nullptr;             // required; outlives the engine
  // The clock for history times, Wait states and timers. With virtual_time it must be a
  // core::ManualClock, which the engine moves forward itself.
  const core::Clock* clock = nullptr;  // default: the system clock
  int workers = 2;
  // Virtual time, for `homeostat asl run` and tests: when nothing can happen until a timer is
  // due (no execution has work, no task is running), the clock jumps to that timer at once, so
  // an hour-long Wait takes no time.
  bool virtual_time = false;
  core::ManualClock* manual_clock = nullptr;  // required with virtual_time
  // A uniform draw in [0, 1) for retry jitter; default: a per-engine PRNG.
  std::function<double()> random;
  // Most executions written in one commit.
  size_t max_commit_batch = 2048;
};

struct StartRequest {
  std::string state_machine;  // a registered machine's name
  std::string name;           // unique per state machine; empty: the execution's id
  boost::json::value input = boost::json::object();
  // Fixed values for tests and `asl run` (empty: generated).
  std::string execution_id;
};

struct EngineStats {
  int64_t running = 0;  // executions in memory, not yet ended
  int64_t started = 0;
  int64_t ended = 0;
  int64_t transitions = 0;     // state transitions committed
  int64_t history_events = 0;  // history events committed
  int64_t commits = 0;
  int64_t tasks_in_flight = 0;
};

class Engine {
 public:
  // Opens the engine: loads every running execution from the store and continues it (attempts
  // that were in flight are issued again, timers re-armed), then starts the threads.
  static core::Result<std::unique_ptr<Engine>> open(EngineOptions options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Parses and validates `definition` and makes it the current version of machine `name`;
  // stores the version under its content hash. Returns the hash. Executions already running
  // keep the version they started with.
  core::Result<std::string> register_machine(const std::string& name,
                                             const std::string& definition);
  // The current version's hash and parsed machine, if `name` is registered.
  std::optional<std::pair<std::string, std::shared_ptr<const states::StateMachine>>> machine(
      const std::string& name) const;

  // Starts an execution and returns its record once ExecutionStarted is durable. Errors:
  // kNotFound (no such machine), kAlreadyExists (the name is taken), kInvalidArgument (a bad
  // name, or input over 256 KiB), kUnavailable (the engine is stopping).
  core::Result<store::ExecutionRecord> start(const StartRequest& request);

  // Asks a running execution to stop: it ends ABORTED with `error` and `cause`. kNotFound when
  // it is not running here.
  core::Status stop(const std::string& execution_id, const std::string& error,
                    const std::string& cause);

  // Waits until the execution has ended or `timeout` passed; returns its record from the store
  // (still RUNNING after a timeout).
  core::Result<store::ExecutionRecord> wait(const std::string& execution_id,
                                            std::chrono::milliseconds timeout);

  EngineStats stats() const;

  // Stops the threads. Running executions stay in the store as they are and continue when an
  // engine opens the store again. Called by the destructor.
  void shutdown();

 private:
  class Impl;
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace homeostat::engine
