// A state machine of the Amazon States Language, parsed and validated: the definition an
// operator writes ({"StartAt": ..., "States": {...}}) turned into a tree of State values that
// the executor walks without looking at JSON field names again.
//
// parse_state_machine() checks everything that can be checked before an execution runs: the
// fields each state type allows and needs, their types and ranges, every path, payload
// template, Choice rule, retrier and catcher, every transition target, reachability, and that
// Parallel branches and Map item processors are complete machines of their own that never
// transition outside themselves. An error names the state and the field, e.g.
// "States.Fetch.Retry[1].BackoffRate: must be at least 1.0" or
// "States.Fan.Branches[0].States.Check.Next: no state named 'Nope'".
//
// A StateMachine is immutable after parsing and safe to share between threads.
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "states/choice.hpp"
#include "states/errors.hpp"
#include "states/paths.hpp"

namespace homeostat::states {

// The largest state input or output (and execution input) Step Functions allows; a larger
// payload fails the state with States.DataLimitExceeded.
inline constexpr std::size_t kMaxPayloadBytes = 256 * 1024;

enum class StateType { kPass, kTask, kChoice, kWait, kSucceed, kFail, kParallel, kMap };

// The name as the definition writes it: "Pass", "Task", ...
std::string_view state_type_name(StateType type);

struct StateMachine;

// A number given either literally or by a reference path into the state's effective input
// (the "...Path" form of a field such as TimeoutSecondsPath).
struct NumberOrPath {
  std::optional<double> value;
  std::optional<Path> path;

  bool present() const { return value.has_value() || path.has_value(); }
};

// One state. Only the fields of its type are set; the parser refuses fields another type owns.
struct State {
  std::string name;
  StateType type = StateType::kPass;
  std::string comment;

  // Transition: exactly one of `next` (non-empty) and `end` for every type but Choice, Succeed
  // and Fail, which have neither.
  std::string next;
  bool end = false;

  // Input and output processing. A field absent from the definition holds a parsed "$"; a
  // field the definition set to null holds std::nullopt (InputPath and OutputPath null pass {},
  // ResultPath null discards the result).
  std::optional<Path> input_path;                     // absent -> "$"; null -> std::nullopt
  std::optional<Path> output_path;                    // absent -> "$"; null -> std::nullopt
  std::optional<boost::json::value> parameters;       // Pass, Task, Parallel, Map(ItemSelector)
  std::optional<boost::json::value> result_selector;  // Task, Parallel, Map
  std::optional<Path> result_path;                    // absent -> "$"; null -> std::nullopt

  // Pass: the result the state hands to ResultPath instead of its input.
  std::optional<boost::json::value> result;

  // Task.
  std::string resource;
  NumberOrPath timeout_seconds;    // TimeoutSeconds / TimeoutSecondsPath; absent: no timeout
  NumberOrPath heartbeat_seconds;  // HeartbeatSeconds / HeartbeatSecondsPath
  std::optional<boost::json::value> credentials;  // kept as written; not interpreted

  // Task, Parallel, Map.
  std::vector<Retrier> retry;
  std::vector<Catcher> catchers;

  // Choice.
  std::vector<ChoiceRule> choices;
  std::string default_next;  // empty when there is no Default

  // Wait: exactly one of the four.
  std::optional<double> wait_seconds;
  std::optional<std::string> wait_timestamp;  // RFC 3339, validated at parse time
  std::optional<Path> wait_seconds_path;
  std::optional<Path> wait_timestamp_path;

  // Fail: Error and Cause, literally or by path (ErrorPath, CausePath; a path may also be an
  // intrinsic function, kept in the *_expression fields).
  std::optional<std::string> error;
  std::optional<std::string> cause;
  std::optional<Path> error_path;
  std::optional<Path> cause_path;
  std::optional<std::string> error_expression;
  std::optional<std::string> cause_expression;

  // Parallel: one machine per branch.
  std::vector<std::shared_ptr<const StateMachine>> branches;

  // Map. `item_processor` comes from ItemProcessor or the older Iterator; `parameters` above
  // holds ItemSelector (or the older Parameters). Distributed mode runs the same way inline
  // does (no child executions in a cloud); ItemReader and ResultWriter are refused.
  std::shared_ptr<const StateMachine> item_processor;
  enum class MapMode { kInline, kDistributed };
  MapMode map_mode = MapMode::kInline;
  std::optional<Path> items_path;  // absent -> "$"
  NumberOrPath max_concurrency;    // 0 or absent: no limit
  NumberOrPath tolerated_failure_count;
  NumberOrPath tolerated_failure_percentage;
  std::optional<boost::json::value> item_batcher;  // ItemBatcher as written (distributed only)
  std::string label;                               // distributed only

  // Task, Parallel and Map may run for a long time; these answer "can it fail with an error
  // that Retry and Catch see?"
  bool can_retry_or_catch() const {
    return type == StateType::kTask || type == StateType::kParallel || type == StateType::kMap;
  }
};

// A machine, or a Parallel branch, or a Map item processor.
struct StateMachine {
  std::string start_at;
  std::string comment;
  std::string version;                    // "1.0" when absent
  std::optional<double> timeout_seconds;  // top level only
  std::map<std::string, State, std::less<>> states;

  // The state named `name`, or nullptr.
  const State* find(std::string_view name) const;
};

// Parses and validates a definition held as JSON text. Errors are kInvalidArgument with the
// place in the message; text that is not JSON is refused with the parser's line and column.
core::Result<std::shared_ptr<const StateMachine>> parse_state_machine(std::string_view text);

// As above, for a string literal, which would otherwise convert to both std::string_view and
// boost::json::value and make the call ambiguous.
inline core::Result<std::shared_ptr<const StateMachine>> parse_state_machine(const char* text) {
  return parse_state_machine(std::string_view(text));
}

// As above, from a parsed JSON value.
core::Result<std::shared_ptr<const StateMachine>> parse_state_machine(
    const boost::json::value& definition);

}  // namespace homeostat::states
