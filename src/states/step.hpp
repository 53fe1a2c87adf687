// The step-by-step semantics of each state: given a state and the raw input it is entered with,
// what happens next. These functions are pure: they never run a task, sleep, or touch storage.
// They return what the executor must do (run a task, wait until a time, run branches) and, once
// the executor has done it, turn the outcome into the state's output and next transition.
//
// The life of one visit to a state, as the executor drives it:
//
//   enter_state() ── Transition / Finish ─────────────────────────────► next state or the end
//        │        ── Failure ─► handle_error()
//        ├─ RunTask ─► (task runs) ─► complete_task() ─► Transition / Finish / Failure
//        ├─ StartWait ─► (timer fires) ─► Transition / Finish (wait_done())
//        └─ RunBranches ─► (branches run) ─► complete_branches() ─► Transition / Finish / Failure
//
//   handle_error() ─► Retry (run the state again after a delay: enter_state() with the same raw
//                   input) / Transition (a catcher matched) / Failure (the error leaves the
//                   state; the enclosing branch or execution fails)
//
// Every function is thread-safe and keeps no state. Errors that the definition's author can
// handle come back as Failure values carrying the ASL error name, never as exceptions.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "states/errors.hpp"
#include "states/machine.hpp"
#include "states/paths.hpp"

namespace homeostat::states {

// Go to state `next`; `output` is its raw input.
struct Transition {
  std::string next;
  boost::json::value output;
};

// The machine (or branch) ends here with `output`: an End state, or Succeed.
struct Finish {
  boost::json::value output;
};

// The state failed with `error`. From enter_state() and the complete_* functions the executor
// passes it to handle_error() when the state can retry or catch; from handle_error() it is
// final and fails the enclosing branch or execution.
struct Failure {
  StatesError error;
};

// Run the Task state's resource with `input` (the effective input after InputPath and
// Parameters); then call complete_task() or, on an error, handle_error().
struct RunTask {
  std::string resource;
  boost::json::value input;
  int64_t timeout_ms = 0;    // 0: no timeout
  int64_t heartbeat_ms = 0;  // 0: no heartbeat
};

// Wait until `until_ms` (milliseconds since the epoch), then call wait_done() with `output`.
struct StartWait {
  int64_t until_ms = 0;
  boost::json::value output;
};

// Run one branch machine per input (Parallel: one per branch, each with the same input; Map:
// the item processor once per item), at most `max_concurrency` at a time (0: no limit); then
// call complete_branches() with the results in input order.
struct RunBranches {
  std::vector<boost::json::value> inputs;
  int64_t max_concurrency = 0;
  // Map in distributed mode: how many items may fail before the state fails with
  // States.ExceedToleratedFailureThreshold. std::nullopt: none may fail.
  std::optional<int64_t> tolerated_failure_count;
  std::optional<double> tolerated_failure_percentage;
};

using Step = std::variant<Transition, Finish, Failure, RunTask, StartWait, RunBranches>;

// Run the state again after `delay_ms`, with the same raw input; the retry counter has already
// been advanced.
struct Retry {
  int64_t delay_ms = 0;
};

using ErrorStep = std::variant<Retry, Transition, Failure>;

// Enters `state` with `raw_input`. `context` is the context object for this visit ($$);
// `now_ms` is the current time, for Wait states.
Step enter_state(const State& state, const boost::json::value& raw_input, const Context& context,
                 int64_t now_ms);

// A Task state's resource returned `result`: applies ResultSelector, ResultPath and OutputPath.
Step complete_task(const State& state, const boost::json::value& raw_input,
                   const boost::json::value& result, const Context& context);

// A Wait state's time has come: the transition with the output StartWait carried.
Step wait_done(const State& state, boost::json::value output);

// The outcome of one branch (Parallel) or item (Map): its output or its error.
using BranchOutcome = std::variant<boost::json::value, StatesError>;

// All branches of a Parallel or Map state have ended (or, for a Map with tolerated failures,
// enough have ended to decide). Parallel and inline Map fail with the first failed branch's
// error (in input order) when any failed; a distributed Map fails with
// States.ExceedToleratedFailureThreshold when more failed than it tolerates, and otherwise
// puts {"Error", "Cause"} objects in the place of the items that failed.
Step complete_branches(const State& state, const boost::json::value& raw_input,
                       const std::vector<BranchOutcome>& outcomes, const Context& context);

// Whether a distributed Map with these outcomes so far has already failed more items than it
// tolerates out of `total`, so the executor can stop early.
bool exceeds_tolerance(const State& state, const boost::json::value& raw_input, int64_t failed,
                       int64_t total);

// The state failed with `error` during this visit: asks Retry and then Catch. `retries_made`
// holds one counter per retrier of the state for this visit (all 0 on entry; missing entries
// count as 0); the counter of the retrier that grants a retry is raised. `random` is a uniform
// draw in [0, 1) for jitter. States other than Task, Parallel and Map return the error as a
// Failure.
ErrorStep handle_error(const State& state, const boost::json::value& raw_input,
                       const StatesError& error, std::vector<int>& retries_made, double random);

// The context object's "State" member for a visit: {"Name", "EnteredTime", "RetryCount"}.
boost::json::object state_context(const std::string& name, int64_t entered_ms, int retry_count);

// The size of `value` serialised as JSON, in bytes; used for the payload limit.
std::size_t payload_size(const boost::json::value& value);

}  // namespace homeostat::states
