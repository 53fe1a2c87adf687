// Error handling of the Amazon States Language: the predefined error names, and the Retry and
// Catch fields of Task, Parallel and Map states.
//
// A definition's "Retry" and "Catch" arrays are parsed and validated once, when the definition
// is loaded, into Retrier and Catcher values. At run time, when a state fails with an error
// name, the executor asks decide_retry() (or a RetryCounter) whether and when to run the state
// again, and once retries are spent asks find_catcher() where to go next. Nothing here keeps
// state except RetryCounter, which belongs to one visit of one state and is not thread-safe;
// everything else is a pure function, safe from any thread. Randomness for jitter is passed in,
// so every decision is reproducible in tests. The decisions taken where the specification is
// silent are described in docs/states-language.md ("Errors, Retry and Catch").
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "states/intrinsics.hpp"
#include "states/paths.hpp"

namespace homeostat::states {

// Predefined error names (the specification's Appendix A and the Step Functions error list).
// kRuntime, kParameterPathFailure and kResultPathMatchFailure live in paths.hpp and
// kIntrinsicFailure in intrinsics.hpp; they are part of this list too.
inline constexpr std::string_view kAll = "States.ALL";
inline constexpr std::string_view kBranchFailed = "States.BranchFailed";
inline constexpr std::string_view kDataLimitExceeded = "States.DataLimitExceeded";
inline constexpr std::string_view kExceedToleratedFailureThreshold =
    "States.ExceedToleratedFailureThreshold";
inline constexpr std::string_view kHeartbeatTimeout = "States.HeartbeatTimeout";
inline constexpr std::string_view kHttpSocket = "States.Http.Socket";
inline constexpr std::string_view kItemReaderFailed = "States.ItemReaderFailed";
inline constexpr std::string_view kNoChoiceMatched = "States.NoChoiceMatched";
inline constexpr std::string_view kPermissions = "States.Permissions";
inline constexpr std::string_view kQueryEvaluationError = "States.QueryEvaluationError";
inline constexpr std::string_view kResultWriterFailed = "States.ResultWriterFailed";
inline constexpr std::string_view kTaskFailed = "States.TaskFailed";
inline constexpr std::string_view kTimeout = "States.Timeout";

// Every predefined name, States.ALL included, in alphabetical order.
std::span<const std::string_view> predefined_error_names();

// Upper bounds Step Functions documents for the retrier fields; larger values are refused.
inline constexpr int64_t kMaxIntervalSeconds = 99999999;
inline constexpr int64_t kMaxMaxAttempts = 99999999;
inline constexpr int64_t kMaxMaxDelaySeconds = 31622400;  // 366 days

// One element of a state's "Retry" array. Defaults are the specification's.
struct Retrier {
  enum class Jitter { kNone, kFull };

  std::vector<std::string> error_equals;
  double interval_seconds = 1;              // delay before the first retry; an integer >= 1
  int max_attempts = 3;                     // retries this retrier allows; 0 = never retry
  double backoff_rate = 2.0;                // factor applied per retry; >= 1.0
  std::optional<double> max_delay_seconds;  // cap on the backoff delay; an integer >= 1
  Jitter jitter = Jitter::kNone;            // kFull: uniform between 0 and the capped delay
};

// The ResultPath a catcher uses when the field is absent: "$", the error output replaces the
// state's input.
Path default_catch_result_path();

// One element of a state's "Catch" array.
struct Catcher {
  std::vector<std::string> error_equals;
  // Where the error output goes, in the form apply_result_path() takes: absent in the
  // definition means "$" (the default below); std::nullopt means the definition said
  // "ResultPath": null, so the error output is discarded and the state's raw input passes on.
  std::optional<Path> result_path = default_catch_result_path();
  std::string next;  // the state to transition to
};

// Parses a state's "Retry" value. `where` names the state for messages, e.g. "States.Fetch";
// an error (kInvalidArgument) reads "<where>.Retry[1].BackoffRate: must be at least 1.0".
// Refused: a value that is not an array of objects; unknown fields (only ErrorEquals,
// IntervalSeconds, MaxAttempts, BackoffRate, MaxDelaySeconds, JitterStrategy and Comment are
// allowed); an ErrorEquals that is missing, empty, or holds anything but non-empty strings;
// States.ALL that is not alone or not in the last retrier; IntervalSeconds, MaxAttempts and
// MaxDelaySeconds that are not integers (2.0 counts as an integer) or out of range; a
// BackoffRate that is not a number >= 1.0; a JitterStrategy other than "FULL" or "NONE".
core::Result<std::vector<Retrier>> parse_retry(const boost::json::value& retry,
                                               const std::string& where);

// Parses a state's "Catch" value, with messages as for parse_retry ("<where>.Catch[0].Next:
// ..."). Refused: a value that is not an array of objects; unknown fields (only ErrorEquals,
// Next, ResultPath and Comment); ErrorEquals as for parse_retry, States.ALL alone and in the
// last catcher; a missing or non-string or empty Next; a ResultPath that is neither null nor a
// reference path, or that names the context object ("$$...").
core::Result<std::vector<Catcher>> parse_catch(const boost::json::value& catch_value,
                                               const std::string& where);

// True when `error` is matched by one of the names in `error_equals`. A name matches itself
// exactly (case-sensitive). States.ALL matches every error, and States.TaskFailed every error
// except States.Timeout, but neither matches the terminal errors States.Runtime and
// States.DataLimitExceeded. States.DataLimitExceeded is matched only when named; States.Runtime
// is never matched, so it can be neither retried nor caught.
bool error_matches(const std::vector<std::string>& error_equals, const std::string& error);

// The index of the first retrier whose ErrorEquals matches `error`, or std::nullopt.
std::optional<std::size_t> find_retrier(const std::vector<Retrier>& retriers,
                                        const std::string& error);

// The delay before the next retry by `retrier` after it has already retried `retries_made`
// times: IntervalSeconds * BackoffRate^retries_made seconds, capped at MaxDelaySeconds (and
// always at kMaxMaxDelaySeconds, so a large backoff cannot overflow), then with FULL jitter
// scaled by `random`, a uniform draw in [0, 1). Rounded to the nearest millisecond.
int64_t retry_delay_ms(const Retrier& retrier, int retries_made, double random);

struct RetryDecision {
  bool retry = false;
  int64_t delay_ms = 0;                // meaningful only when retry is true
  std::optional<std::size_t> retrier;  // the retrier that decided; std::nullopt when none matched
};

// Decides whether a state that failed with `error` runs again. The first retrier whose
// ErrorEquals matches decides alone, even when it has no attempts left (later retriers are not
// consulted, so the error goes on to Catch). `retries_made[i]` is how many retries retrier i has
// already granted during this visit to the state; a missing entry counts as 0. `random` is a
// uniform draw in [0, 1), used only for FULL jitter.
//
// How the executor counts: one counter per retrier, all 0 when the state is entered, kept
// across every retry of that visit, and raised only for the retrier that granted a retry.
// Errors matched by different retriers therefore draw on separate budgets; RetryCounter keeps
// the counters for you.
RetryDecision decide_retry(const std::vector<Retrier>& retriers, const std::string& error,
                           std::span<const int> retries_made, double random);

// The per-retrier counters for one visit to one state. Not thread-safe; create a new one (or
// call reset()) each time the state is entered. Holds a reference to `retriers`, which must
// outlive it.
class RetryCounter {
 public:
  explicit RetryCounter(const std::vector<Retrier>& retriers);

  // Decides as decide_retry() and, when the decision is to retry, counts the retry against the
  // retrier that granted it.
  RetryDecision on_error(const std::string& error, double random);

  // Retries granted so far by retrier `index`; 0 for an index out of range.
  int retries_made(std::size_t index) const;
  // Total retries granted during this visit, the value of $$.State.RetryCount.
  int total_retries() const;
  void reset();

 private:
  const std::vector<Retrier>& retriers_;
  std::vector<int> retries_made_;
};

// The first catcher whose ErrorEquals matches `error`, or nullptr. The pointer is into
// `catchers`.
const Catcher* find_catcher(const std::vector<Catcher>& catchers, const std::string& error);

// The error output a catcher hands on: {"Error": <error>, "Cause": <cause>}.
boost::json::object error_output(const StatesError& error);

// The effective input of the catcher's Next state: the error output placed into `raw_input`
// by the catcher's ResultPath (apply_result_path, with its errors).
StepResult apply_catcher(const Catcher& catcher, const boost::json::value& raw_input,
                         const StatesError& error);

}  // namespace homeostat::states
