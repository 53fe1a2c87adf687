// Mocked task responses in the format of AWS Step Functions Local's mock configuration file
// (MockConfigFile.json), so that a team's existing mock files run unchanged against Homeostat.
//
// A file names, per state machine, test cases; a test case maps Task state names to mocked
// responses; a mocked response lists, per invocation number of that state, either a Return
// (the task's result) or a Throw (the task's error):
//
//   {"StateMachines": {"Orders": {"TestCases": {"RetryPath": {"Charge": "ChargeFlaky"}}}},
//    "MockedResponses": {"ChargeFlaky": {
//        "0":   {"Throw": {"Error": "Payment.Busy", "Cause": "try later"}},
//        "1-2": {"Throw": {"Error": "States.Timeout", "Cause": "slow"}},
//        "3":   {"Return": {"charged": true}}}}}
//
// parse_mock_config() validates a whole file once; MockedTaskRunner then answers the Task
// states its test case names and passes every other state to a fallback runner, as Step
// Functions Local calls the real service for a state without a mock. The counting rules (every
// attempt is an invocation, counts are per execution and state name, an invocation past the
// last key fails the execution) are the AWS documentation's and are set out, with the decisions
// taken where it is silent, in docs/states-language.md ("Task resources and mocks").
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "engine/resources.hpp"

namespace homeostat::engine {

// The answers for a range of invocations of a mocked state: "0" is {0, 0}, "1-2" is {1, 2}.
struct MockedInvocations {
  int64_t first = 0;
  int64_t last = 0;  // inclusive
  TaskOutcome outcome;
};

// One entry of "MockedResponses": its ranges in order, contiguous from invocation 0.
struct MockedResponse {
  std::vector<MockedInvocations> invocations;

  // The outcome of invocation `n` (0 for the first), or nullptr when the file defines none.
  const TaskOutcome* outcome_for(int64_t n) const;
};

// One test case: Task state name -> name of a mocked response in MockConfig::responses.
using MockTestCase = std::map<std::string, std::string, std::less<>>;

// A parsed mock configuration file. Immutable after parsing; share it freely between threads.
struct MockConfig {
  // State machine name -> test case name -> test case.
  std::map<std::string, std::map<std::string, MockTestCase, std::less<>>, std::less<>>
      state_machines;
  std::map<std::string, MockedResponse, std::less<>> responses;
};

// Parses and validates a mock configuration file. Errors are kInvalidArgument and name the place,
// e.g. `MockedResponses.ChargeFlaky["1-2"].Throw: needs Error`. Refused: text that is not a JSON
// object; a missing "StateMachines" or "MockedResponses"; unknown fields anywhere (the format
// has no optional ones); a state machine without "TestCases"; a test case whose value is not a
// string naming an existing mocked response; a mocked response with no entries; an invocation
// key that is not "N" or "N-M" with N <= M (decimal, at most 9 digits); ranges that overlap, or
// that leave an invocation between 0 and the last key without a response; an entry with
// neither or both of Return and Throw; a Throw that is not an object with a non-empty string
// Error and a string Cause.
core::Result<MockConfig> parse_mock_config(std::string_view json_text);

// A TaskRunner that answers from one test case of a mock configuration.
//
// A request whose state the test case names is answered from that state's mocked response; the
// invocation number is how many attempts of the same state the same execution has made before
// (retries and Map iterations included), counted in memory under a mutex. A request whose
// idempotency key was already answered is the same invocation issued again and gets the same
// answer without being counted. An invocation past the last key fails with States.Runtime,
// which no Retry or Catch handles, since the AWS documentation says the execution then fails.
// Every other request, and every request from another state machine (a request with an empty
// machine name counts as this one), goes to the fallback runner unchanged.
//
// Thread-safe. Answers come on the calling thread, before invoke() returns.
class MockedTaskRunner final : public TaskRunner {
 public:
  // kNotFound when the configuration has no such state machine or test case; kInvalidArgument
  // when `config` or `fallback` is null.
  static core::Result<std::shared_ptr<MockedTaskRunner>> create(
      std::shared_ptr<const MockConfig> config, std::string machine_name,
      const std::string& test_case, std::shared_ptr<TaskRunner> fallback);

  void invoke(const TaskRequest& request, TaskCallback done) override;

  // How many invocations of `state_name` execution `execution_id` has made so far; for tests.
  int64_t invocations(std::string_view execution_id, std::string_view state_name) const;

 private:
  MockedTaskRunner(std::shared_ptr<const MockConfig> config, std::string machine_name,
                   const MockTestCase& test_case, std::shared_ptr<TaskRunner> fallback);

  // The invocation number for `request`: a new one, or the one its idempotency key had.
  int64_t next_invocation(const TaskRequest& request);

  std::shared_ptr<const MockConfig> config_;
  std::string machine_name_;
  const MockTestCase& test_case_;  // inside *config_
  std::shared_ptr<TaskRunner> fallback_;

  mutable std::mutex mutex_;
  // "<execution id>\0<state name>" -> invocations so far. Limitation: entries are never
  // removed, so a long-lived runner grows with every execution it mocks; runners are meant for
  // test runs, and the counts are lost when the process restarts.
  std::map<std::string, int64_t, std::less<>> counts_;
  std::map<std::string, int64_t, std::less<>> by_idempotency_key_;
};

}  // namespace homeostat::engine
