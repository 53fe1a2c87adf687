#include "engine/mocks.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "states/errors.hpp"
#include "states/paths.hpp"

namespace homeostat::engine {
namespace {

namespace json = boost::json;

// Modelled on the example in the AWS documentation: one machine whose first Task calls a
// function with a retry policy and whose second sends a message; three test cases.
constexpr const char* kOrdersMockFile = R"({
  "StateMachines": {
    "OrderPipeline": {
      "TestCases": {
        "AllGood": {"ChargeCard": "ChargeOk", "NotifyCustomer": "NotifyOk"},
        "CardRetries": {"ChargeCard": "ChargeFlaky", "NotifyCustomer": "NotifyOk"},
        "OnlyCharge": {"ChargeCard": "ChargeOk"}
      }
    },
    "Refunds": {"TestCases": {"Empty": {}}}
  },
  "MockedResponses": {
    "ChargeOk": {
      "0": {"Return": {"StatusCode": 200, "Payload": {"charged": true, "amount": 42}}}
    },
    "ChargeDeclined": {
      "0": {"Throw": {"Error": "Payment.Declined", "Cause": "card expired"}}
    },
    "NotifyOk": {
      "0": {"Return": {"MessageId": "m-0001"}}
    },
    "ChargeFlaky": {
      "0": {"Throw": {"Error": "Payment.Busy", "Cause": "gateway busy"}},
      "1-2": {"Throw": {"Error": "Payment.Timeout", "Cause": "gateway slow"}},
      "3": {"Return": {"StatusCode": 200, "Payload": {"charged": true, "amount": 42}}}
    }
  }
})";

// Records what reaches it and answers with {"real": <state name>}.
class RealRunner final : public TaskRunner {
 public:
  void invoke(const TaskRequest& request, TaskCallback done) override {
    ++calls;
    done(json::value{{"real", request.state_name}});
  }
  std::atomic<int> calls{0};
};

std::shared_ptr<const MockConfig> orders_config() {
  auto parsed = parse_mock_config(kOrdersMockFile);
  EXPECT_TRUE(parsed.ok()) << parsed.error().message();
  return std::make_shared<const MockConfig>(std::move(parsed).value());
}

TaskRequest request_for(std::string execution, std::string state, std::string key = "") {
  TaskRequest request;
  request.execution_id = std::move(execution);
  request.machine_name = "OrderPipeline";
  request.state_name = std::move(state);
  request.resource = "arn:aws:states:::lambda:invoke";
  request.input = json::parse(R"({"order": 7})");
  request.idempotency_key = std::move(key);
  return request;
}

// The outcome as text: the output's JSON, or "error: <name>: <cause>".
std::string run(TaskRunner& runner, const TaskRequest& request) {
  std::optional<std::string> text;
  runner.invoke(request, [&](const TaskOutcome& outcome) {
    if (const auto* error = std::get_if<states::StatesError>(&outcome)) {
      text = "error: " + error->error + ": " + error->cause;
    } else {
      text = json::serialize(std::get<json::value>(outcome));
    }
  });
  return text.value_or("no answer");
}

struct Fixture {
  std::shared_ptr<RealRunner> real = std::make_shared<RealRunner>();
  std::shared_ptr<MockedTaskRunner> mocked;
};

Fixture make(const std::string& test_case) {
  Fixture f;
  auto runner = MockedTaskRunner::create(orders_config(), "OrderPipeline", test_case, f.real);
  EXPECT_TRUE(runner.ok()) << runner.error().message();
  if (runner.ok()) f.mocked = runner.value();
  return f;
}

// ---------------------------------------------------------------------------------------------
// Parsing.

TEST(MockConfigParse, ReadsARealisticFile) {
  auto config = orders_config();
  ASSERT_EQ(config->state_machines.size(), 2U);
  const auto& cases = config->state_machines.at("OrderPipeline");
  EXPECT_EQ(cases.size(), 3U);
  EXPECT_EQ(cases.at("CardRetries").at("ChargeCard"), "ChargeFlaky");
  EXPECT_TRUE(config->state_machines.at("Refunds").at("Empty").empty());
  ASSERT_EQ(config->responses.size(), 4U);

  const MockedResponse& flaky = config->responses.at("ChargeFlaky");
  ASSERT_EQ(flaky.invocations.size(), 3U);
  EXPECT_EQ(flaky.invocations[1].first, 1);
  EXPECT_EQ(flaky.invocations[1].last, 2);
  const auto* thrown = std::get_if<states::StatesError>(flaky.outcome_for(2));
  ASSERT_NE(thrown, nullptr);
  EXPECT_EQ(thrown->error, "Payment.Timeout");
  EXPECT_EQ(thrown->cause, "gateway slow");
  EXPECT_NE(std::get_if<json::value>(flaky.outcome_for(3)), nullptr);
  EXPECT_EQ(flaky.outcome_for(4), nullptr);
  EXPECT_EQ(flaky.outcome_for(-1), nullptr);
}

TEST(MockConfigParse, SortsEntriesWrittenOutOfOrder) {
  auto parsed = parse_mock_config(R"({"StateMachines": {}, "MockedResponses": {"R": {
      "2-4": {"Return": "late"}, "0": {"Return": "first"}, "1": {"Return": null}}}})");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  const MockedResponse& response = parsed->responses.at("R");
  EXPECT_EQ(json::serialize(std::get<json::value>(*response.outcome_for(0))), R"("first")");
  EXPECT_EQ(json::serialize(std::get<json::value>(*response.outcome_for(1))), "null");
  EXPECT_EQ(json::serialize(std::get<json::value>(*response.outcome_for(4))), R"("late")");
  EXPECT_EQ(response.outcome_for(5), nullptr);
}

template <typename Case>
std::string case_name(const testing::TestParamInfo<Case>& param) {
  return param.param.name;
}

struct BadFileCase {
  std::string name;
  std::string text;
  std::string error;  // the whole expected message
};

void PrintTo(const BadFileCase& c, std::ostream* out) {  // NOLINT(readability-identifier-naming)
  *out << c.name;
}

class MockConfigRefuses : public testing::TestWithParam<BadFileCase> {};

TEST_P(MockConfigRefuses, NamingThePlace) {
  const BadFileCase& c = GetParam();
  auto parsed = parse_mock_config(c.text);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code(), core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(parsed.error().message(), c.error);
}

// A file with one machine and test case whose only response is `entries`.
std::string with_response(const std::string& entries) {
  return R"({"StateMachines": {"M": {"TestCases": {"T": {"S": "R"}}}}, "MockedResponses": {"R": )" +
         entries + "}}";
}

INSTANTIATE_TEST_SUITE_P(
    Errors, MockConfigRefuses,
    testing::Values(
        BadFileCase{"not_json", "{", "mock configuration: not valid JSON: incomplete JSON"},
        BadFileCase{"not_object", "[]", "mock configuration: must be a JSON object"},
        BadFileCase{"unknown_top_field",
                    R"({"StateMachines": {}, "MockedResponses": {}, "Mocks": {}})",
                    "mock configuration.Mocks: is not a known field"},
        BadFileCase{"missing_state_machines", R"({"MockedResponses": {}})",
                    "StateMachines: is required"},
        BadFileCase{"missing_responses", R"({"StateMachines": {}})",
                    "MockedResponses: is required"},
        BadFileCase{"responses_not_object", R"({"StateMachines": {}, "MockedResponses": []})",
                    "MockedResponses: must be an object"},
        BadFileCase{"machines_not_object", R"({"StateMachines": 1, "MockedResponses": {}})",
                    "StateMachines: must be an object"},
        BadFileCase{"machine_not_object", R"({"StateMachines": {"M": []}, "MockedResponses": {}})",
                    "StateMachines.M: must be an object"},
        BadFileCase{"machine_without_test_cases",
                    R"({"StateMachines": {"M": {}}, "MockedResponses": {}})",
                    "StateMachines.M: needs TestCases"},
        BadFileCase{"machine_unknown_field",
                    R"({"StateMachines": {"M": {"TestCases": {}, "Cases": {}}},
                        "MockedResponses": {}})",
                    "StateMachines.M.Cases: is not a known field"},
        BadFileCase{"test_cases_not_object",
                    R"({"StateMachines": {"M": {"TestCases": []}}, "MockedResponses": {}})",
                    "StateMachines.M.TestCases: must be an object"},
        BadFileCase{"test_case_not_object",
                    R"({"StateMachines": {"M": {"TestCases": {"T": "R"}}}, "MockedResponses": {}})",
                    "StateMachines.M.TestCases.T: must be an object"},
        BadFileCase{"state_not_string",
                    R"({"StateMachines": {"M": {"TestCases": {"T": {"S": 3}}}},
                        "MockedResponses": {}})",
                    "StateMachines.M.TestCases.T.S: must be the name of a mocked response"},
        BadFileCase{"unknown_response",
                    R"({"StateMachines": {"M": {"TestCases": {"T": {"S": "Nope"}}}},
                        "MockedResponses": {}})",
                    R"(StateMachines.M.TestCases.T.S: names no mocked response: "Nope")"},
        BadFileCase{"response_not_object", with_response("[]"),
                    "MockedResponses.R: must be an object of invocation entries"},
        BadFileCase{"response_empty", with_response("{}"),
                    "MockedResponses.R: needs at least one invocation entry"},
        BadFileCase{"key_not_number", with_response(R"({"first": {"Return": 1}})"),
                    R"(MockedResponses.R["first"]: must be an invocation number such as "0" )"
                    R"(or an inclusive range such as "1-2")"},
        BadFileCase{"key_negative", with_response(R"({"-1": {"Return": 1}})"),
                    R"(MockedResponses.R["-1"]: must be an invocation number such as "0" )"
                    R"(or an inclusive range such as "1-2")"},
        BadFileCase{"key_with_spaces", with_response(R"({"0 - 1": {"Return": 1}})"),
                    R"(MockedResponses.R["0 - 1"]: must be an invocation number such as "0" )"
                    R"(or an inclusive range such as "1-2")"},
        BadFileCase{"key_too_long", with_response(R"({"0-1234567890": {"Return": 1}})"),
                    R"(MockedResponses.R["0-1234567890"]: must be an invocation number such )"
                    R"(as "0" or an inclusive range such as "1-2")"},
        BadFileCase{"range_reversed",
                    with_response(R"({"0": {"Return": 1}, "3-1": {"Return": 1}})"),
                    R"(MockedResponses.R["3-1"]: range ends before it starts)"},
        BadFileCase{"ranges_overlap",
                    with_response(R"({"0-2": {"Return": 1}, "2-3": {"Return": 2}})"),
                    R"(MockedResponses.R["2-3"]: overlaps an earlier entry at invocation 2)"},
        BadFileCase{"same_invocation_twice",
                    with_response(R"({"1": {"Return": 1}, "0-1": {"Return": 2}})"),
                    R"(MockedResponses.R["1"]: overlaps an earlier entry at invocation 1)"},
        BadFileCase{"gap_between_ranges",
                    with_response(R"({"0": {"Return": 1}, "3": {"Return": 2}})"),
                    "MockedResponses.R: has no response for invocation 1"},
        BadFileCase{"not_starting_at_zero", with_response(R"({"1-2": {"Return": 1}})"),
                    "MockedResponses.R: has no response for invocation 0"},
        BadFileCase{"entry_not_object", with_response(R"({"0": "ok"})"),
                    R"(MockedResponses.R["0"]: must be an object with Return or Throw)"},
        BadFileCase{"entry_empty", with_response(R"({"0": {}})"),
                    R"(MockedResponses.R["0"]: needs Return or Throw)"},
        BadFileCase{"entry_both", with_response(R"({"0": {"Return": 1, "Throw": {}}})"),
                    R"(MockedResponses.R["0"]: has both Return and Throw)"},
        BadFileCase{"entry_misspelt", with_response(R"({"0": {"Retrun": 1}})"),
                    R"(MockedResponses.R["0"].Retrun: is not a known field)"},
        BadFileCase{"throw_not_object", with_response(R"({"0": {"Throw": "Boom"}})"),
                    R"(MockedResponses.R["0"].Throw: must be an object with Error and Cause)"},
        BadFileCase{"throw_without_error",
                    with_response(R"({"0": {"Return": 1}, "1-2": {"Throw": {"Cause": "c"}}})"),
                    R"(MockedResponses.R["1-2"].Throw: needs Error)"},
        BadFileCase{"throw_error_empty",
                    with_response(R"({"0": {"Throw": {"Error": "", "Cause": "c"}}})"),
                    R"(MockedResponses.R["0"].Throw.Error: must be a non-empty string)"},
        BadFileCase{"throw_error_not_string",
                    with_response(R"({"0": {"Throw": {"Error": 5, "Cause": "c"}}})"),
                    R"(MockedResponses.R["0"].Throw.Error: must be a non-empty string)"},
        BadFileCase{"throw_without_cause", with_response(R"({"0": {"Throw": {"Error": "E"}}})"),
                    R"(MockedResponses.R["0"].Throw: needs Cause)"},
        BadFileCase{"throw_cause_not_string",
                    with_response(R"({"0": {"Throw": {"Error": "E", "Cause": null}}})"),
                    R"(MockedResponses.R["0"].Throw.Cause: must be a string)"},
        BadFileCase{"throw_unknown_field",
                    with_response(R"({"0": {"Throw": {"Error": "E", "Cause": "", "Code": 1}}})"),
                    R"(MockedResponses.R["0"].Throw.Code: is not a known field)"}),
    case_name<BadFileCase>);

// ---------------------------------------------------------------------------------------------
// Answering.

TEST(MockedTaskRunner, RefusesAnUnknownMachineOrTestCase) {
  auto real = std::make_shared<RealRunner>();
  auto no_machine = MockedTaskRunner::create(orders_config(), "Nope", "AllGood", real);
  ASSERT_FALSE(no_machine.ok());
  EXPECT_EQ(no_machine.error().code(), core::ErrorCode::kNotFound);
  EXPECT_EQ(no_machine.error().message(), R"(mocks: no state machine "Nope")");

  auto no_case = MockedTaskRunner::create(orders_config(), "OrderPipeline", "SadPath", real);
  ASSERT_FALSE(no_case.ok());
  EXPECT_EQ(no_case.error().code(), core::ErrorCode::kNotFound);
  EXPECT_EQ(no_case.error().message(),
            R"(mocks: state machine "OrderPipeline" has no test case "SadPath")");

  auto no_fallback = MockedTaskRunner::create(orders_config(), "OrderPipeline", "AllGood", nullptr);
  ASSERT_FALSE(no_fallback.ok());
  EXPECT_EQ(no_fallback.error().code(), core::ErrorCode::kInvalidArgument);
}

TEST(MockedTaskRunner, ReturnIsTheResultOfAMockedState) {
  Fixture f = make("AllGood");
  EXPECT_EQ(run(*f.mocked, request_for("e1", "ChargeCard")),
            R"({"StatusCode":200,"Payload":{"charged":true,"amount":42}})");
  EXPECT_EQ(run(*f.mocked, request_for("e1", "NotifyCustomer")), R"({"MessageId":"m-0001"})");
  EXPECT_EQ(f.real->calls.load(), 0);
}

TEST(MockedTaskRunner, EachAttemptTakesTheNextInvocationThroughTheRanges) {
  // The documentation's retry path: the first attempt gets "0", the first and second retries
  // "1-2", the third retry "3".
  Fixture f = make("CardRetries");
  std::vector<std::string> answers;
  for (int attempt = 0; attempt < 4; ++attempt) {
    TaskRequest request = request_for("e1", "ChargeCard", "e1/" + std::to_string(10 + attempt));
    request.attempt = attempt;
    answers.push_back(run(*f.mocked, request));
  }
  EXPECT_EQ(answers, (std::vector<std::string>{
                         "error: Payment.Busy: gateway busy",
                         "error: Payment.Timeout: gateway slow",
                         "error: Payment.Timeout: gateway slow",
                         R"({"StatusCode":200,"Payload":{"charged":true,"amount":42}})",
                     }));
  EXPECT_EQ(f.mocked->invocations("e1", "ChargeCard"), 4);
}

TEST(MockedTaskRunner, AnInvocationPastTheLastEntryFailsTheExecution) {
  // The documentation: a response is needed for every invocation, and without one the
  // execution fails. The last entry is not repeated.
  Fixture f = make("AllGood");
  EXPECT_EQ(run(*f.mocked, request_for("e1", "NotifyCustomer")), R"({"MessageId":"m-0001"})");
  EXPECT_EQ(run(*f.mocked, request_for("e1", "NotifyCustomer")),
            R"(error: States.Runtime: mocks: mocked response "NotifyOk" has no response for )"
            R"(invocation 1 of state "NotifyCustomer")");
  EXPECT_EQ(f.real->calls.load(), 0);
}

TEST(MockedTaskRunner, StatesNotInTheTestCaseReachTheFallback) {
  Fixture f = make("OnlyCharge");
  EXPECT_EQ(run(*f.mocked, request_for("e1", "NotifyCustomer")), R"({"real":"NotifyCustomer"})");
  EXPECT_EQ(run(*f.mocked, request_for("e1", "ChargeCard")),
            R"({"StatusCode":200,"Payload":{"charged":true,"amount":42}})");
  EXPECT_EQ(f.real->calls.load(), 1);
  EXPECT_EQ(f.mocked->invocations("e1", "NotifyCustomer"), 0);
}

TEST(MockedTaskRunner, OtherStateMachinesReachTheFallback) {
  Fixture f = make("AllGood");
  TaskRequest request = request_for("e1", "ChargeCard");
  request.machine_name = "SomethingElse";
  EXPECT_EQ(run(*f.mocked, request), R"({"real":"ChargeCard"})");
  request.machine_name.clear();  // no machine name: taken as the configured one
  EXPECT_EQ(run(*f.mocked, request),
            R"({"StatusCode":200,"Payload":{"charged":true,"amount":42}})");
}

TEST(MockedTaskRunner, CountsSeparatelyPerExecutionAndState) {
  Fixture f = make("CardRetries");
  EXPECT_EQ(run(*f.mocked, request_for("e1", "ChargeCard")), "error: Payment.Busy: gateway busy");
  EXPECT_EQ(run(*f.mocked, request_for("e1", "ChargeCard")),
            "error: Payment.Timeout: gateway slow");
  // A second execution starts again from invocation 0.
  EXPECT_EQ(run(*f.mocked, request_for("e2", "ChargeCard")), "error: Payment.Busy: gateway busy");
  EXPECT_EQ(run(*f.mocked, request_for("e2", "NotifyCustomer")), R"({"MessageId":"m-0001"})");
  EXPECT_EQ(f.mocked->invocations("e1", "ChargeCard"), 2);
  EXPECT_EQ(f.mocked->invocations("e2", "ChargeCard"), 1);
  EXPECT_EQ(f.mocked->invocations("e2", "NotifyCustomer"), 1);
  EXPECT_EQ(f.mocked->invocations("e3", "ChargeCard"), 0);
}

TEST(MockedTaskRunner, ReissuedAttemptGetsTheSameAnswer) {
  Fixture f = make("CardRetries");
  TaskRequest first = request_for("e1", "ChargeCard", "e1/4");
  EXPECT_EQ(run(*f.mocked, first), "error: Payment.Busy: gateway busy");
  first.reissued = true;
  EXPECT_EQ(run(*f.mocked, first), "error: Payment.Busy: gateway busy");
  EXPECT_EQ(f.mocked->invocations("e1", "ChargeCard"), 1);

  TaskRequest retry = request_for("e1", "ChargeCard", "e1/6");
  retry.attempt = 1;
  EXPECT_EQ(run(*f.mocked, retry), "error: Payment.Timeout: gateway slow");
}

TEST(MockedTaskRunner, ConcurrentInvocationsEachGetOneNumber) {
  // Map iterations of one execution share the state's count: with 8 threads and 4 responses
  // per state, exactly the invocations 0..3 succeed and the rest fail, whatever the order.
  auto parsed = parse_mock_config(R"({"StateMachines": {"M": {"TestCases": {"T": {"S": "R"}}}},
      "MockedResponses": {"R": {"0-3": {"Return": "ok"}}}})");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  auto real = std::make_shared<RealRunner>();
  auto runner = MockedTaskRunner::create(
      std::make_shared<const MockConfig>(std::move(parsed).value()), "M", "T", real);
  ASSERT_TRUE(runner.ok());

  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  threads.reserve(8);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      TaskRequest request;
      request.execution_id = "e1";
      request.machine_name = "M";
      request.state_name = "S";
      const std::string answer = run(*runner.value(), request);
      if (answer == R"("ok")") {
        ++ok;
      } else if (answer.starts_with("error: States.Runtime:")) {
        ++failed;
      }
    });
  }
  for (std::thread& thread : threads)
    thread.join();
  EXPECT_EQ(ok.load(), 4);
  EXPECT_EQ(failed.load(), 4);
  EXPECT_EQ(runner.value()->invocations("e1", "S"), 8);
}

}  // namespace
}  // namespace homeostat::engine
