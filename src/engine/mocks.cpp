#include "engine/mocks.hpp"

#include <algorithm>
#include <array>
#include <boost/json/parse.hpp>
#include <cassert>
#include <optional>
#include <span>
#include <system_error>
#include <utility>

#include "core/json.hpp"
#include "states/paths.hpp"

namespace homeostat::engine {
namespace {

namespace json = boost::json;

core::Error invalid(const std::string& place, std::string_view message) {
  return {core::ErrorCode::kInvalidArgument, place + ": " + std::string(message)};
}

// Refuses fields the format does not define: Step Functions Local would ignore a misspelt
// "Retrun", and the test would then quietly call the real resource or fail for another reason.
core::Status check_fields(const json::object& object, const std::string& place,
                          std::span<const std::string_view> allowed) {
  for (const auto& field : object) {
    if (std::find(allowed.begin(), allowed.end(), field.key()) == allowed.end()) {
      return invalid(place + "." + std::string(field.key()), "is not a known field");
    }
  }
  return {};
}

constexpr std::array<std::string_view, 2> kTopFields = {"StateMachines", "MockedResponses"};
constexpr std::array<std::string_view, 1> kMachineFields = {"TestCases"};
constexpr std::array<std::string_view, 2> kEntryFields = {"Return", "Throw"};
constexpr std::array<std::string_view, 2> kThrowFields = {"Error", "Cause"};

// Reads a decimal invocation number of 1 to 9 digits, which keeps every range far from
// overflow.
std::optional<int64_t> parse_number(std::string_view digits) {
  if (digits.empty() || digits.size() > 9) return std::nullopt;
  int64_t number = 0;
  for (const char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    number = number * 10 + (c - '0');
  }
  return number;
}

// "3" -> {3, 3}; "1-2" -> {1, 2}; anything else -> nullopt.
std::optional<std::pair<int64_t, int64_t>> parse_invocation_key(std::string_view key) {
  const std::size_t dash = key.find('-');
  if (dash == std::string_view::npos) {
    auto number = parse_number(key);
    if (!number) return std::nullopt;
    return std::pair{*number, *number};
  }

  auto first = parse_number(key.substr(0, dash));
  auto last = parse_number(key.substr(dash + 1));
  if (!first || !last) return std::nullopt;
  return std::pair{*first, *last};
}

core::Result<TaskOutcome> parse_throw(const json::value& value, const std::string& place) {
  if (!value.is_object()) return invalid(place, "must be an object with Error and Cause");
  const json::object& object = value.get_object();
  if (auto status = check_fields(object, place, kThrowFields); !status) return status.error();

  // The AWS documentation requires both fields as strings; an empty error name could never
  // be matched by a Retry or Catch, so it is refused too.
  const json::value* error = object.if_contains("Error");
  const json::value* cause = object.if_contains("Cause");
  if (error == nullptr) return invalid(place, "needs Error");
  if (!error->is_string() || error->get_string().empty()) {
    return invalid(place + ".Error", "must be a non-empty string");
  }
  if (cause == nullptr) return invalid(place, "needs Cause");
  if (!cause->is_string()) return invalid(place + ".Cause", "must be a string");
  return TaskOutcome(
      states::StatesError{std::string(error->get_string()), std::string(cause->get_string())});
}

// One entry such as "1-2": {"Throw": {...}}.
core::Result<MockedInvocations> parse_entry(std::string_view key, const json::value& value,
                                            const std::string& place) {
  auto range = parse_invocation_key(key);
  if (!range) {
    return invalid(place,
                   "must be an invocation number such as \"0\" or an inclusive range "
                   "such as \"1-2\"");
  }
  if (range->first > range->second) return invalid(place, "range ends before it starts");
  if (!value.is_object()) return invalid(place, "must be an object with Return or Throw");
  const json::object& object = value.get_object();
  if (auto status = check_fields(object, place, kEntryFields); !status) return status.error();

  const json::value* returned = object.if_contains("Return");
  const json::value* thrown = object.if_contains("Throw");
  if (returned != nullptr && thrown != nullptr) return invalid(place, "has both Return and Throw");
  if (returned == nullptr && thrown == nullptr) return invalid(place, "needs Return or Throw");
  if (returned != nullptr) return MockedInvocations{range->first, range->second, *returned};

  auto outcome = parse_throw(*thrown, place + ".Throw");
  if (!outcome) return outcome.error();
  return MockedInvocations{range->first, range->second, std::move(outcome).value()};
}

// One mocked response: its entries, which together must cover 0..last without overlap, since
// the documentation asks for a response for every invocation.
core::Result<MockedResponse> parse_response(const json::value& value, const std::string& place) {
  if (!value.is_object()) return invalid(place, "must be an object of invocation entries");
  if (value.get_object().empty()) return invalid(place, "needs at least one invocation entry");

  MockedResponse response;
  std::vector<std::string> keys;  // keys[i] belongs to response.invocations[i] until sorted
  for (const auto& field : value.get_object()) {
    const std::string key(field.key());
    auto entry = parse_entry(key, field.value(), place + "[" + core::json_quote(key) + "]");
    if (!entry) return entry.error();
    response.invocations.push_back(std::move(entry).value());
    keys.push_back(key);
  }

  // Sort by first invocation, keeping each key beside its entry for the messages.
  std::vector<std::size_t> order(keys.size());
  for (std::size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return response.invocations[a].first < response.invocations[b].first;
  });
  int64_t next = 0;  // the first invocation not yet covered
  for (const std::size_t i : order) {
    const MockedInvocations& entry = response.invocations[i];
    if (entry.first < next) {
      return invalid(place + "[" + core::json_quote(keys[i]) + "]",
                     "overlaps an earlier entry at invocation " + std::to_string(entry.first));
    }
    if (entry.first > next) {
      return invalid(place, "has no response for invocation " + std::to_string(next));
    }
    next = entry.last + 1;
  }

  std::vector<MockedInvocations> sorted;
  sorted.reserve(order.size());
  for (const std::size_t i : order)
    sorted.push_back(std::move(response.invocations[i]));
  response.invocations = std::move(sorted);
  return response;
}

// "StateMachines": machine -> {"TestCases": {case -> {state -> response name}}}. Response
// names are checked against `responses`, which is parsed first.
core::Status parse_state_machines(const json::value& value, MockConfig& config) {
  if (!value.is_object()) return invalid("StateMachines", "must be an object");
  for (const auto& machine : value.get_object()) {
    const std::string machine_place = "StateMachines." + std::string(machine.key());
    if (!machine.value().is_object()) return invalid(machine_place, "must be an object");
    const json::object& machine_object = machine.value().get_object();
    if (auto status = check_fields(machine_object, machine_place, kMachineFields); !status) {
      return status;
    }
    const json::value* cases = machine_object.if_contains("TestCases");
    if (cases == nullptr) return invalid(machine_place, "needs TestCases");
    if (!cases->is_object()) return invalid(machine_place + ".TestCases", "must be an object");

    auto& test_cases = config.state_machines[std::string(machine.key())];
    for (const auto& test_case : cases->get_object()) {
      const std::string case_place = machine_place + ".TestCases." + std::string(test_case.key());
      if (!test_case.value().is_object()) return invalid(case_place, "must be an object");

      MockTestCase& states = test_cases[std::string(test_case.key())];
      for (const auto& state : test_case.value().get_object()) {
        const std::string state_place = case_place + "." + std::string(state.key());
        if (!state.value().is_string()) {
          return invalid(state_place, "must be the name of a mocked response");
        }
        const std::string response(state.value().get_string());
        if (!config.responses.contains(response)) {
          return invalid(state_place, "names no mocked response: " + core::json_quote(response));
        }
        states.emplace(std::string(state.key()), response);
      }
    }
  }
  return {};
}

// The key counts_ uses; NUL cannot occur in an execution id.
std::string count_key(std::string_view execution_id, std::string_view state_name) {
  std::string key(execution_id);
  key.push_back('\0');
  key.append(state_name);
  return key;
}

}  // namespace

const TaskOutcome* MockedResponse::outcome_for(int64_t n) const {
  // Entries are sorted and contiguous, so the first one ending at or after n is the one.
  auto it = std::lower_bound(
      invocations.begin(), invocations.end(), n,
      [](const MockedInvocations& entry, int64_t wanted) { return entry.last < wanted; });
  if (it == invocations.end() || it->first > n) return nullptr;
  return &it->outcome;
}

core::Result<MockConfig> parse_mock_config(std::string_view json_text) {
  std::error_code ec;
  json::value root = json::parse(json_text, ec);
  if (ec) return invalid("mock configuration", "not valid JSON: " + ec.message());
  if (!root.is_object()) return invalid("mock configuration", "must be a JSON object");
  const json::object& top = root.get_object();
  if (auto status = check_fields(top, "mock configuration", kTopFields); !status) {
    return status.error();
  }

  // Both sections are required by the documentation; MockedResponses is read first so that
  // test cases can be checked against it.
  const json::value* machines = top.if_contains("StateMachines");
  const json::value* responses = top.if_contains("MockedResponses");
  if (machines == nullptr) return invalid("StateMachines", "is required");
  if (responses == nullptr) return invalid("MockedResponses", "is required");
  if (!responses->is_object()) return invalid("MockedResponses", "must be an object");

  MockConfig config;
  for (const auto& field : responses->get_object()) {
    const std::string name(field.key());
    auto response = parse_response(field.value(), "MockedResponses." + name);
    if (!response) return response.error();
    config.responses.emplace(name, std::move(response).value());
  }
  if (auto status = parse_state_machines(*machines, config); !status) return status.error();
  return config;
}

core::Result<std::shared_ptr<MockedTaskRunner>> MockedTaskRunner::create(
    std::shared_ptr<const MockConfig> config, std::string machine_name,
    const std::string& test_case, std::shared_ptr<TaskRunner> fallback) {
  if (config == nullptr || fallback == nullptr) {
    return core::Error(core::ErrorCode::kInvalidArgument,
                       "mocks: a configuration and a fallback runner are required");
  }
  auto machine = config->state_machines.find(machine_name);
  if (machine == config->state_machines.end()) {
    return core::Error(core::ErrorCode::kNotFound,
                       "mocks: no state machine " + core::json_quote(machine_name));
  }
  auto found = machine->second.find(test_case);
  if (found == machine->second.end()) {
    return core::Error(core::ErrorCode::kNotFound,
                       "mocks: state machine " + core::json_quote(machine_name) +
                           " has no test case " + core::json_quote(test_case));
  }

  // The constructor is private so that every runner has been checked; make_shared cannot
  // reach it.
  const MockTestCase& states = found->second;
  return std::shared_ptr<MockedTaskRunner>(new MockedTaskRunner(
      std::move(config), std::move(machine_name), states, std::move(fallback)));
}

MockedTaskRunner::MockedTaskRunner(std::shared_ptr<const MockConfig> config,
                                   std::string machine_name, const MockTestCase& test_case,
                                   std::shared_ptr<TaskRunner> fallback)
    : config_(std::move(config)),
      machine_name_(std::move(machine_name)),
      test_case_(test_case),
      fallback_(std::move(fallback)) {}

void MockedTaskRunner::invoke(const TaskRequest& request, TaskCallback done) {
  // Only this machine's states named in the test case are mocked; the rest reach the real
  // resource, as in Step Functions Local.
  const bool this_machine = request.machine_name.empty() || request.machine_name == machine_name_;
  auto state = this_machine ? test_case_.find(request.state_name) : test_case_.end();
  if (state == test_case_.end()) {
    fallback_->invoke(request, std::move(done));
    return;
  }

  // parse_mock_config() checked that every test case names an existing response.
  auto response = config_->responses.find(state->second);
  assert(response != config_->responses.end());
  const int64_t invocation = next_invocation(request);
  const TaskOutcome* outcome = response->second.outcome_for(invocation);
  if (outcome == nullptr) {
    done(states::StatesError{std::string(states::kRuntime),
                             "mocks: mocked response " + core::json_quote(state->second) +
                                 " has no response for " + "invocation " +
                                 std::to_string(invocation) + " of state " +
                                 core::json_quote(request.state_name)});
    return;
  }

  done(*outcome);
}

int64_t MockedTaskRunner::invocations(std::string_view execution_id,
                                      std::string_view state_name) const {
  std::lock_guard lock(mutex_);
  auto it = counts_.find(count_key(execution_id, state_name));
  return it == counts_.end() ? 0 : it->second;
}

int64_t MockedTaskRunner::next_invocation(const TaskRequest& request) {
  std::lock_guard lock(mutex_);
  if (!request.idempotency_key.empty()) {
    auto seen = by_idempotency_key_.find(request.idempotency_key);
    if (seen != by_idempotency_key_.end()) return seen->second;
  }

  const int64_t invocation = counts_[count_key(request.execution_id, request.state_name)]++;
  if (!request.idempotency_key.empty()) {
    by_idempotency_key_.emplace(request.idempotency_key, invocation);
  }
  return invocation;
}

}  // namespace homeostat::engine
