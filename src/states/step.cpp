#include "states/step.hpp"

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <cmath>
#include <utility>

#include "core/clock.hpp"
#include "states/choice.hpp"

namespace homeostat::states {
namespace json = boost::json;

namespace {

Failure runtime_failure(std::string cause) {
  return Failure{StatesError{std::string(kRuntime), std::move(cause)}};
}

Failure data_limit_failure(const State& state, std::size_t size) {
  return Failure{StatesError{std::string(kDataLimitExceeded),
                             "the output of state '" + state.name + "' is " + std::to_string(size) +
                                 " bytes, more than the limit of " +
                                 std::to_string(kMaxPayloadBytes)}};
}

// The transition a state takes once its output is known: Next, or the end of the machine.
// Every output passes the payload limit here, so no state can hand on more than 256 KiB.
Step leave(const State& state, json::value output) {
  const std::size_t size = payload_size(output);
  if (size > kMaxPayloadBytes) return data_limit_failure(state, size);

  if (state.end || state.type == StateType::kSucceed) return Finish{std::move(output)};
  return Transition{state.next, std::move(output)};
}

// Resolves a number written literally or as a path into `input`. Returns std::nullopt when the
// field is absent; a path that selects nothing or a value that is not a non-negative number
// fails the state with States.Runtime.
std::variant<std::optional<double>, Failure> resolve_number(const State& state,
                                                            const NumberOrPath& field,
                                                            const char* name,
                                                            const json::value& input) {
  if (field.value) return field.value;
  if (!field.path) return std::optional<double>();

  const auto selected = field.path->select(input);
  if (!selected || !selected->is_number()) {
    return runtime_failure(std::string(name) + "Path '" + field.path->text() + "' of state '" +
                           state.name + "' does not select a number");
  }
  const double value = selected->to_number<double>();
  if (!(value >= 0)) {
    return runtime_failure(std::string(name) + "Path '" + field.path->text() + "' of state '" +
                           state.name + "' selects a negative number");
  }
  return std::optional<double>(value);
}

// The part every state shares: InputPath over the raw input.
StepResult effective_input(const State& state, const json::value& raw_input,
                           const Context& context) {
  return apply_input_path(raw_input, state.input_path, context);
}

// ResultPath then OutputPath, then the transition.
Step finish_with_result(const State& state, const json::value& raw_input, const json::value& result,
                        const Context& context) {
  auto combined = apply_result_path(raw_input, result, state.result_path);
  if (auto* error = std::get_if<StatesError>(&combined)) return Failure{std::move(*error)};

  auto output = apply_output_path(std::get<json::value>(combined), state.output_path, context);
  if (auto* error = std::get_if<StatesError>(&output)) return Failure{std::move(*error)};
  return leave(state, std::move(std::get<json::value>(output)));
}

Step enter_pass(const State& state, const json::value& input, const json::value& raw_input,
                const Context& context) {
  json::value result = input;
  if (state.parameters) {
    auto expanded = apply_parameters(*state.parameters, input, context);
    if (auto* error = std::get_if<StatesError>(&expanded)) return Failure{std::move(*error)};
    result = std::move(std::get<json::value>(expanded));
  }
  if (state.result) result = *state.result;
  return finish_with_result(state, raw_input, result, context);
}

Step enter_task(const State& state, const json::value& input, const Context& context) {
  json::value task_input = input;
  if (state.parameters) {
    auto expanded = apply_parameters(*state.parameters, input, context);
    if (auto* error = std::get_if<StatesError>(&expanded)) return Failure{std::move(*error)};
    task_input = std::move(std::get<json::value>(expanded));
  }
  const std::size_t size = payload_size(task_input);
  if (size > kMaxPayloadBytes) return data_limit_failure(state, size);

  RunTask run{state.resource, std::move(task_input)};
  auto timeout = resolve_number(state, state.timeout_seconds, "TimeoutSeconds", input);
  if (auto* failure = std::get_if<Failure>(&timeout)) return std::move(*failure);
  if (auto seconds = std::get<std::optional<double>>(timeout)) {
    run.timeout_ms = static_cast<int64_t>(std::llround(*seconds * 1000));
  }
  auto heartbeat = resolve_number(state, state.heartbeat_seconds, "HeartbeatSeconds", input);
  if (auto* failure = std::get_if<Failure>(&heartbeat)) return std::move(*failure);
  if (auto seconds = std::get<std::optional<double>>(heartbeat)) {
    run.heartbeat_ms = static_cast<int64_t>(std::llround(*seconds * 1000));
  }
  return run;
}

Step enter_choice(const State& state, const json::value& input, const Context& context) {
  for (const ChoiceRule& rule : state.choices) {
    auto matched = evaluate(rule, input, context);
    if (auto* error = std::get_if<StatesError>(&matched)) return Failure{std::move(*error)};
    if (!std::get<bool>(matched)) continue;

    auto output = apply_output_path(input, state.output_path, context);
    if (auto* error = std::get_if<StatesError>(&output)) return Failure{std::move(*error)};
    return Transition{rule.next, std::move(std::get<json::value>(output))};
  }

  if (state.default_next.empty()) {
    return Failure{StatesError{
        std::string(kNoChoiceMatched),
        "no Choices rule of state '" + state.name + "' matched, and it has no Default"}};
  }
  auto output = apply_output_path(input, state.output_path, context);
  if (auto* error = std::get_if<StatesError>(&output)) return Failure{std::move(*error)};
  return Transition{state.default_next, std::move(std::get<json::value>(output))};
}

// The time a Wait state ends, from whichever of its four fields it has.
std::variant<int64_t, Failure> wait_until(const State& state, const json::value& input,
                                          int64_t now_ms) {
  if (state.wait_seconds) return now_ms + static_cast<int64_t>(*state.wait_seconds * 1000);
  if (state.wait_timestamp) {
    auto parsed = core::parse_rfc3339(*state.wait_timestamp);
    if (!parsed) return runtime_failure(parsed.error().message());
    return parsed.value();
  }
  if (state.wait_seconds_path) {
    const auto selected = state.wait_seconds_path->select(input);
    if (!selected || !selected->is_number() || selected->to_number<double>() < 0) {
      return runtime_failure("SecondsPath '" + state.wait_seconds_path->text() + "' of state '" +
                             state.name + "' does not select a non-negative number");
    }
    return now_ms + static_cast<int64_t>(std::llround(selected->to_number<double>() * 1000));
  }

  const auto selected = state.wait_timestamp_path->select(input);
  if (!selected || !selected->is_string()) {
    return runtime_failure("TimestampPath '" + state.wait_timestamp_path->text() + "' of state '" +
                           state.name + "' does not select a string");
  }
  auto parsed = core::parse_rfc3339(selected->as_string());
  if (!parsed) {
    return runtime_failure("TimestampPath '" + state.wait_timestamp_path->text() + "' of state '" +
                           state.name + "' selects '" + std::string(selected->as_string()) +
                           "', which is not an RFC 3339 timestamp");
  }
  return parsed.value();
}

Step enter_wait(const State& state, const json::value& input, const Context& context,
                int64_t now_ms) {
  auto until = wait_until(state, input, now_ms);
  if (auto* failure = std::get_if<Failure>(&until)) return std::move(*failure);

  auto output = apply_output_path(input, state.output_path, context);
  if (auto* error = std::get_if<StatesError>(&output)) return Failure{std::move(*error)};
  return StartWait{std::get<int64_t>(until), std::move(std::get<json::value>(output))};
}

// Error or Cause of a Fail state: a literal, a path into the raw input, or an intrinsic.
std::variant<std::string, Failure> fail_field(const State& state, const char* name,
                                              const std::optional<std::string>& literal,
                                              const std::optional<Path>& path,
                                              const std::optional<std::string>& expression,
                                              const json::value& raw_input,
                                              const Context& context) {
  if (literal) return *literal;

  json::value value;
  if (path) {
    auto selected = path->is_context() ? path->select(context.value) : path->select(raw_input);
    if (!selected) {
      return runtime_failure(std::string(name) + "Path '" + path->text() + "' of state '" +
                             state.name + "' selects nothing");
    }
    value = std::move(*selected);
  } else if (expression) {
    json::object templ;
    templ["v.$"] = *expression;
    auto expanded = apply_parameters(templ, raw_input, context);
    if (auto* error = std::get_if<StatesError>(&expanded)) return Failure{std::move(*error)};
    value = std::move(std::get<json::value>(expanded).as_object()["v"]);
  } else {
    return std::string();
  }
  if (!value.is_string()) {
    return runtime_failure(std::string(name) + "Path of state '" + state.name +
                           "' must select a string");
  }
  return std::string(value.as_string());
}

Step enter_fail(const State& state, const json::value& raw_input, const Context& context) {
  auto error = fail_field(state, "Error", state.error, state.error_path, state.error_expression,
                          raw_input, context);
  if (auto* failure = std::get_if<Failure>(&error)) return std::move(*failure);
  auto cause = fail_field(state, "Cause", state.cause, state.cause_path, state.cause_expression,
                          raw_input, context);
  if (auto* failure = std::get_if<Failure>(&cause)) return std::move(*failure);
  return Failure{StatesError{std::move(std::get<std::string>(error)),
                             std::move(std::get<std::string>(cause))}};
}

Step enter_parallel(const State& state, const json::value& input, const Context& context) {
  json::value branch_input = input;
  if (state.parameters) {
    auto expanded = apply_parameters(*state.parameters, input, context);
    if (auto* error = std::get_if<StatesError>(&expanded)) return Failure{std::move(*error)};
    branch_input = std::move(std::get<json::value>(expanded));
  }
  RunBranches run;
  run.inputs.assign(state.branches.size(), branch_input);
  return run;
}

std::optional<int64_t> to_count(std::optional<double> value) {
  if (!value) return std::nullopt;
  return static_cast<int64_t>(*value);
}

// A batcher limit written literally or as a path; std::nullopt when neither is there.
std::variant<std::optional<double>, Failure> batcher_number(const State& state,
                                                            const json::object& batcher,
                                                            const char* name,
                                                            const json::value& input) {
  NumberOrPath field;
  if (const json::value* value = batcher.if_contains(name)) {
    field.value = value->to_number<double>();
  } else if (const json::value* path = batcher.if_contains(std::string(name) + "Path")) {
    auto parsed = Path::parse_reference(path->as_string());
    if (!parsed) return runtime_failure(parsed.error().message());
    field.path = std::move(*parsed);
  }
  return resolve_number(state, field, name, input);
}

// ItemBatcher (distributed mode): groups the item inputs into batches of at most
// MaxItemsPerBatch items and MaxInputBytesPerBatch bytes, each run as one child with the input
// {"Items": [...], "BatchInput": <BatchInput expanded against the state's input>}.
std::variant<std::vector<json::value>, Failure> batch_items(const State& state,
                                                            const json::value& batcher_value,
                                                            std::vector<json::value> items,
                                                            const json::value& input,
                                                            const Context& context) {
  const json::object& batcher = batcher_value.as_object();
  auto max_items = batcher_number(state, batcher, "MaxItemsPerBatch", input);
  if (auto* failure = std::get_if<Failure>(&max_items)) return std::move(*failure);
  auto max_bytes = batcher_number(state, batcher, "MaxInputBytesPerBatch", input);
  if (auto* failure = std::get_if<Failure>(&max_bytes)) return std::move(*failure);
  const auto item_limit =
      static_cast<size_t>(std::max(1.0, std::get<std::optional<double>>(max_items).value_or(1e18)));
  const auto byte_limit = static_cast<size_t>(
      std::max(1.0, std::get<std::optional<double>>(max_bytes).value_or(double(kMaxPayloadBytes))));

  std::optional<json::value> batch_input;
  if (const json::value* templ = batcher.if_contains("BatchInput")) {
    auto expanded = apply_parameters(*templ, input, context);
    if (auto* error = std::get_if<StatesError>(&expanded)) return Failure{std::move(*error)};
    batch_input = std::move(std::get<json::value>(expanded));
  }

  // Greedy: a batch closes when the next item would pass either limit. An item larger than the
  // byte limit on its own still gets a batch of its own rather than being dropped.
  std::vector<json::value> batches;
  json::array current;
  size_t current_bytes = 0;
  auto close = [&] {
    if (current.empty()) return;
    json::object batch{{"Items", std::move(current)}};
    if (batch_input) batch["BatchInput"] = *batch_input;
    batches.emplace_back(std::move(batch));
    current = json::array();
    current_bytes = 0;
  };
  for (json::value& item : items) {
    const size_t bytes = payload_size(item);
    if (!current.empty() && (current.size() >= item_limit || current_bytes + bytes > byte_limit)) {
      close();
    }
    current_bytes += bytes;
    current.push_back(std::move(item));
  }
  close();
  return batches;
}

Step enter_map(const State& state, const json::value& input, const Context& context) {
  // ItemsPath picks the array out of the effective input.
  json::value items = input;
  if (state.items_path) {
    auto selected = state.items_path->select(input);
    if (!selected) {
      return runtime_failure("ItemsPath '" + state.items_path->text() + "' of state '" +
                             state.name + "' selects nothing");
    }
    items = std::move(*selected);
  }
  if (!items.is_array()) {
    return runtime_failure("the items of Map state '" + state.name + "' are not an array");
  }

  // ItemSelector builds each item's input from the state's input and $$.Map.Item.
  RunBranches run;
  run.inputs.reserve(items.as_array().size());
  int64_t index = 0;
  for (json::value& item : items.as_array()) {
    if (!state.parameters) {
      run.inputs.push_back(std::move(item));
      ++index;
      continue;
    }
    Context item_context = context;
    json::object& map = item_context.value.as_object()["Map"].emplace_object();
    map["Item"] = json::object{{"Index", index}, {"Value", std::move(item)}};
    auto expanded = apply_parameters(*state.parameters, input, item_context);
    if (auto* error = std::get_if<StatesError>(&expanded)) return Failure{std::move(*error)};
    run.inputs.push_back(std::move(std::get<json::value>(expanded)));
    ++index;
  }

  auto concurrency = resolve_number(state, state.max_concurrency, "MaxConcurrency", input);
  if (auto* failure = std::get_if<Failure>(&concurrency)) return std::move(*failure);
  run.max_concurrency = to_count(std::get<std::optional<double>>(concurrency)).value_or(0);

  if (state.map_mode == State::MapMode::kDistributed) {
    auto count =
        resolve_number(state, state.tolerated_failure_count, "ToleratedFailureCount", input);
    if (auto* failure = std::get_if<Failure>(&count)) return std::move(*failure);
    run.tolerated_failure_count = to_count(std::get<std::optional<double>>(count));
    auto percentage = resolve_number(state, state.tolerated_failure_percentage,
                                     "ToleratedFailurePercentage", input);
    if (auto* failure = std::get_if<Failure>(&percentage)) return std::move(*failure);
    run.tolerated_failure_percentage = std::get<std::optional<double>>(percentage);
    if (state.item_batcher) {
      auto batched = batch_items(state, *state.item_batcher, std::move(run.inputs), input, context);
      if (auto* failure = std::get_if<Failure>(&batched)) return std::move(*failure);
      run.inputs = std::move(std::get<std::vector<json::value>>(batched));
    }
  }
  return run;
}

}  // namespace

std::size_t payload_size(const json::value& value) {
  return json::serialize(value).size();
}

json::object state_context(const std::string& name, int64_t entered_ms, int retry_count) {
  json::object state;
  state["Name"] = name;
  state["EnteredTime"] = core::format_rfc3339(entered_ms, true);
  state["RetryCount"] = retry_count;
  return state;
}

Step enter_state(const State& state, const json::value& raw_input, const Context& context,
                 int64_t now_ms) {
  if (state.type == StateType::kFail) return enter_fail(state, raw_input, context);

  auto selected = effective_input(state, raw_input, context);
  if (auto* error = std::get_if<StatesError>(&selected)) return Failure{std::move(*error)};
  const json::value& input = std::get<json::value>(selected);

  switch (state.type) {
    case StateType::kPass:
      return enter_pass(state, input, raw_input, context);
    case StateType::kTask:
      return enter_task(state, input, context);
    case StateType::kChoice:
      return enter_choice(state, input, context);
    case StateType::kWait:
      return enter_wait(state, input, context, now_ms);
    case StateType::kSucceed: {
      auto output = apply_output_path(input, state.output_path, context);
      if (auto* error = std::get_if<StatesError>(&output)) return Failure{std::move(*error)};
      return leave(state, std::move(std::get<json::value>(output)));
    }
    case StateType::kParallel:
      return enter_parallel(state, input, context);
    case StateType::kMap:
      return enter_map(state, input, context);
    case StateType::kFail:
      break;
  }
  return runtime_failure("state '" + state.name + "' has an unknown type");
}

Step complete_task(const State& state, const json::value& raw_input, const json::value& result,
                   const Context& context) {
  json::value selected = result;
  if (state.result_selector) {
    auto expanded = apply_result_selector(*state.result_selector, result, context);
    if (auto* error = std::get_if<StatesError>(&expanded)) return Failure{std::move(*error)};
    selected = std::move(std::get<json::value>(expanded));
  }
  return finish_with_result(state, raw_input, selected, context);
}

Step wait_done(const State& state, json::value output) {
  return leave(state, std::move(output));
}

bool exceeds_tolerance(const State& state, const json::value& raw_input, int64_t failed,
                       int64_t total) {
  if (failed == 0) return false;
  if (state.map_mode != State::MapMode::kDistributed) return true;

  // The tolerance fields were resolved once at entry; resolving them again from the same input
  // gives the same numbers, and keeps this function free of executor state.
  auto selected = apply_input_path(raw_input, state.input_path, Context{});
  const json::value input =
      std::holds_alternative<json::value>(selected) ? std::get<json::value>(selected) : raw_input;
  auto count = resolve_number(state, state.tolerated_failure_count, "ToleratedFailureCount", input);
  auto percentage = resolve_number(state, state.tolerated_failure_percentage,
                                   "ToleratedFailurePercentage", input);
  const auto* max_count = std::get_if<std::optional<double>>(&count);
  const auto* max_percentage = std::get_if<std::optional<double>>(&percentage);
  const bool has_count = max_count != nullptr && max_count->has_value();
  const bool has_percentage = max_percentage != nullptr && max_percentage->has_value();
  if (!has_count && !has_percentage) return true;

  // Either threshold passed fails the state, as Step Functions documents.
  if (has_count && static_cast<double>(failed) > **max_count) return true;
  if (has_percentage && total > 0 &&
      100.0 * static_cast<double>(failed) / static_cast<double>(total) > **max_percentage) {
    return true;
  }
  return false;
}

Step complete_branches(const State& state, const json::value& raw_input,
                       const std::vector<BranchOutcome>& outcomes, const Context& context) {
  int64_t failed = 0;
  const StatesError* first_error = nullptr;
  for (const BranchOutcome& outcome : outcomes) {
    if (const auto* error = std::get_if<StatesError>(&outcome)) {
      ++failed;
      if (first_error == nullptr) first_error = error;
    }
  }

  if (failed > 0) {
    const bool distributed =
        state.type == StateType::kMap && state.map_mode == State::MapMode::kDistributed;
    if (!distributed) return Failure{*first_error};
    if (exceeds_tolerance(state, raw_input, failed, static_cast<int64_t>(outcomes.size()))) {
      return Failure{StatesError{std::string(kExceedToleratedFailureThreshold),
                                 std::to_string(failed) + " of " + std::to_string(outcomes.size()) +
                                     " items of Map state '" + state.name +
                                     "' failed, more than it tolerates"}};
    }
  }

  json::array results;
  results.reserve(outcomes.size());
  for (const BranchOutcome& outcome : outcomes) {
    if (const auto* error = std::get_if<StatesError>(&outcome)) {
      results.emplace_back(error_output(*error));
    } else {
      results.push_back(std::get<json::value>(outcome));
    }
  }
  return complete_task(state, raw_input, results, context);
}

ErrorStep handle_error(const State& state, const json::value& raw_input, const StatesError& error,
                       std::vector<int>& retries_made, double random) {
  if (!state.can_retry_or_catch()) return Failure{error};

  retries_made.resize(state.retry.size(), 0);
  const RetryDecision decision = decide_retry(state.retry, error.error, retries_made, random);
  if (decision.retry && decision.retrier) {
    ++retries_made[*decision.retrier];
    return Retry{decision.delay_ms};
  }

  const Catcher* catcher = find_catcher(state.catchers, error.error);
  if (catcher == nullptr) return Failure{error};
  auto output = apply_catcher(*catcher, raw_input, error);
  if (auto* failure = std::get_if<StatesError>(&output)) return Failure{std::move(*failure)};
  return Transition{catcher->next, std::move(std::get<json::value>(output))};
}

}  // namespace homeostat::states
