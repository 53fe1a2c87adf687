#include "states/machine.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <string>
#include <vector>

namespace homeostat::states {
namespace {

namespace json = boost::json;

// A machine whose States object holds `states`, starting at "S".
std::string machine(const std::string& states) {
  return R"({"StartAt": "S", "States": {)" + states + "}}";
}

// A machine of one state "S" with the given fields.
std::string single(const std::string& fields) {
  return machine(R"("S": {)" + fields + "}");
}

// A machine of one state "S" with the given fields that moves on to a Succeed state "Done".
std::string then_done(const std::string& fields) {
  return machine(R"("S": {)" + fields + R"(, "Next": "Done"}, "Done": {"Type": "Succeed"})");
}

// A Map state "S" with the given fields around an item processor of one Pass state.
std::string map_with(const std::string& fields) {
  return single(R"("Type": "Map", "End": true, )" + fields);
}

constexpr const char* kProcessor =
    R"("ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}})";

constexpr const char* kDistributed =
    R"("ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
       "StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}})";

template <typename Case>
std::string case_name(const testing::TestParamInfo<Case>& info) {
  return info.param.name;
}

// ---------------------------------------------------------------------------------------------
// A machine with every state type and every field each allows.

constexpr const char* kEveryType = R"j({
  "Comment": "every state type",
  "Version": "1.0",
  "TimeoutSeconds": 3600,
  "QueryLanguage": "JSONPath",
  "StartAt": "Prepare",
  "States": {
    "Prepare": {
      "Type": "Pass", "Comment": "shape the input", "QueryLanguage": "JSONPath",
      "InputPath": "$.in", "OutputPath": null, "ResultPath": "$.prepared",
      "Parameters": {"id.$": "$.id", "when.$": "$$.Execution.StartTime",
                     "tag.$": "States.Format('x-{}', $.id)", "list": [1, {"n.$": "$.n"}]},
      "Result": {"ok": true},
      "Next": "Fetch"
    },
    "Fetch": {
      "Type": "Task", "Resource": "http:get",
      "InputPath": "$", "OutputPath": "$.out", "ResultPath": null,
      "Parameters": {"url.$": "$.url"}, "ResultSelector": {"body.$": "$.body"},
      "TimeoutSeconds": 60, "HeartbeatSeconds": 10, "Credentials": {"role": "reader"},
      "Retry": [{"ErrorEquals": ["States.Timeout"], "MaxAttempts": 2}],
      "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Broken", "ResultPath": "$.error"}],
      "Next": "Route"
    },
    "Route": {
      "Type": "Choice", "InputPath": "$", "OutputPath": "$",
      "Choices": [
        {"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Pause"},
        {"And": [{"Variable": "$.s", "IsPresent": true}, {"Variable": "$.s", "StringEquals": "x"}],
         "Next": "Fan"}
      ],
      "Default": "Done"
    },
    "Pause": {"Type": "Wait", "SecondsPath": "$.delay", "InputPath": "$", "OutputPath": "$",
              "Next": "Fan"},
    "Fan": {
      "Type": "Parallel",
      "Branches": [
        {"Comment": "left", "StartAt": "Left", "States": {"Left": {"Type": "Pass", "End": true}}},
        {"StartAt": "Right", "States": {"Right": {"Type": "Wait", "Seconds": 1, "End": true}}}
      ],
      "InputPath": "$", "OutputPath": "$", "Parameters": {"a.$": "$.a"},
      "ResultSelector": {"first.$": "$[0]"}, "ResultPath": "$.fan",
      "Retry": [{"ErrorEquals": ["States.BranchFailed"]}],
      "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Broken"}],
      "Next": "Each"
    },
    "Each": {
      "Type": "Map",
      "ItemProcessor": {
        "Comment": "per item",
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "Check",
        "States": {"Check": {"Type": "Task", "Resource": "check", "End": true}}
      },
      "InputPath": "$", "OutputPath": "$", "ItemsPath": "$.items",
      "ItemSelector": {"item.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index"},
      "MaxConcurrency": 4, "ToleratedFailureCount": 2, "ToleratedFailurePercentagePath": "$.pct",
      "ItemBatcher": {"MaxItemsPerBatch": 10, "MaxInputBytesPerBatchPath": "$.bytes",
                      "BatchInput": {"k.$": "$.k"}},
      "Label": "each",
      "ResultSelector": {"all.$": "$"}, "ResultPath": "$.each",
      "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 1}],
      "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Broken"}],
      "End": true
    },
    "Done": {"Type": "Succeed", "Comment": "fine", "InputPath": "$.x", "OutputPath": "$.y"},
    "Broken": {"Type": "Fail", "Comment": "not fine", "ErrorPath": "$.error.Error",
               "CausePath": "States.Format('failed: {}', $.error.Cause)"}
  }
})j";

TEST(StateMachine, ParsesEveryStateTypeWithAllItsFields) {
  auto parsed = parse_state_machine(kEveryType);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  const StateMachine& m = **parsed;
  EXPECT_EQ(m.start_at, "Prepare");
  EXPECT_EQ(m.comment, "every state type");
  EXPECT_EQ(m.version, "1.0");
  EXPECT_EQ(m.timeout_seconds, 3600);
  EXPECT_EQ(m.states.size(), 8U);

  const State* pass = m.find("Prepare");
  ASSERT_NE(pass, nullptr);
  EXPECT_EQ(pass->type, StateType::kPass);
  EXPECT_EQ(pass->name, "Prepare");
  EXPECT_EQ(pass->comment, "shape the input");
  EXPECT_EQ(pass->next, "Fetch");
  EXPECT_FALSE(pass->end);
  ASSERT_TRUE(pass->input_path.has_value());
  EXPECT_EQ(pass->input_path->text(), "$.in");
  EXPECT_FALSE(pass->output_path.has_value());  // null
  ASSERT_TRUE(pass->result_path.has_value());
  EXPECT_EQ(pass->result_path->text(), "$.prepared");
  ASSERT_TRUE(pass->parameters.has_value());
  EXPECT_TRUE(pass->parameters->as_object().contains("tag.$"));
  EXPECT_EQ(pass->result, json::parse(R"({"ok": true})"));

  const State* task = m.find("Fetch");
  ASSERT_NE(task, nullptr);
  EXPECT_EQ(task->type, StateType::kTask);
  EXPECT_EQ(task->resource, "http:get");
  EXPECT_FALSE(task->result_path.has_value());  // null: the result is discarded
  EXPECT_EQ(task->output_path->text(), "$.out");
  EXPECT_EQ(task->timeout_seconds.value, 60);
  EXPECT_FALSE(task->timeout_seconds.path.has_value());
  EXPECT_EQ(task->heartbeat_seconds.value, 10);
  EXPECT_EQ(task->credentials, json::parse(R"({"role": "reader"})"));
  ASSERT_EQ(task->retry.size(), 1U);
  EXPECT_EQ(task->retry[0].max_attempts, 2);
  ASSERT_EQ(task->catchers.size(), 1U);
  EXPECT_EQ(task->catchers[0].next, "Broken");
  ASSERT_TRUE(task->result_selector.has_value());
  EXPECT_TRUE(task->can_retry_or_catch());

  const State* choice = m.find("Route");
  ASSERT_NE(choice, nullptr);
  EXPECT_EQ(choice->type, StateType::kChoice);
  ASSERT_EQ(choice->choices.size(), 2U);
  EXPECT_EQ(choice->choices[0].next, "Pause");
  EXPECT_EQ(choice->choices[1].kind, RuleKind::kAnd);
  EXPECT_EQ(choice->default_next, "Done");
  EXPECT_TRUE(choice->next.empty());
  EXPECT_FALSE(choice->end);
  EXPECT_FALSE(choice->can_retry_or_catch());

  const State* wait = m.find("Pause");
  ASSERT_NE(wait, nullptr);
  EXPECT_EQ(wait->type, StateType::kWait);
  ASSERT_TRUE(wait->wait_seconds_path.has_value());
  EXPECT_EQ(wait->wait_seconds_path->text(), "$.delay");
  EXPECT_FALSE(wait->wait_seconds.has_value());
  EXPECT_FALSE(wait->wait_timestamp.has_value());
  EXPECT_FALSE(wait->wait_timestamp_path.has_value());

  const State* parallel = m.find("Fan");
  ASSERT_NE(parallel, nullptr);
  EXPECT_EQ(parallel->type, StateType::kParallel);
  ASSERT_EQ(parallel->branches.size(), 2U);
  EXPECT_EQ(parallel->branches[0]->start_at, "Left");
  EXPECT_EQ(parallel->branches[0]->comment, "left");
  EXPECT_FALSE(parallel->branches[0]->timeout_seconds.has_value());
  ASSERT_NE(parallel->branches[1]->find("Right"), nullptr);
  EXPECT_EQ(parallel->branches[1]->find("Right")->wait_seconds, 1);
  EXPECT_EQ(m.find("Right"), nullptr);  // branch states belong to the branch
  EXPECT_EQ(parallel->result_path->text(), "$.fan");
  EXPECT_EQ(parallel->retry.size(), 1U);
  EXPECT_EQ(parallel->catchers.size(), 1U);
  EXPECT_TRUE(parallel->parameters.has_value());
  EXPECT_TRUE(parallel->result_selector.has_value());

  const State* map = m.find("Each");
  ASSERT_NE(map, nullptr);
  EXPECT_EQ(map->type, StateType::kMap);
  EXPECT_TRUE(map->end);
  EXPECT_EQ(map->map_mode, State::MapMode::kDistributed);
  ASSERT_NE(map->item_processor, nullptr);
  EXPECT_EQ(map->item_processor->start_at, "Check");
  EXPECT_EQ(map->item_processor->comment, "per item");
  EXPECT_EQ(map->items_path->text(), "$.items");
  ASSERT_TRUE(map->parameters.has_value());  // ItemSelector
  EXPECT_TRUE(map->parameters->as_object().contains("item.$"));
  EXPECT_EQ(map->max_concurrency.value, 4);
  EXPECT_EQ(map->tolerated_failure_count.value, 2);
  ASSERT_TRUE(map->tolerated_failure_percentage.path.has_value());
  EXPECT_EQ(map->tolerated_failure_percentage.path->text(), "$.pct");
  ASSERT_TRUE(map->item_batcher.has_value());
  EXPECT_EQ(map->item_batcher->as_object().at("MaxItemsPerBatch"), 10);
  EXPECT_EQ(map->label, "each");
  EXPECT_EQ(map->result_path->text(), "$.each");

  const State* succeed = m.find("Done");
  ASSERT_NE(succeed, nullptr);
  EXPECT_EQ(succeed->type, StateType::kSucceed);
  EXPECT_EQ(succeed->input_path->text(), "$.x");
  EXPECT_EQ(succeed->output_path->text(), "$.y");

  const State* fail = m.find("Broken");
  ASSERT_NE(fail, nullptr);
  EXPECT_EQ(fail->type, StateType::kFail);
  ASSERT_TRUE(fail->error_path.has_value());
  EXPECT_EQ(fail->error_path->text(), "$.error.Error");
  EXPECT_FALSE(fail->cause_path.has_value());
  EXPECT_EQ(fail->cause_expression, "States.Format('failed: {}', $.error.Cause)");
  EXPECT_FALSE(fail->error.has_value());
}

TEST(StateMachine, ParsesTheSameFromTextAndFromAValue) {
  auto from_text = parse_state_machine(kEveryType);
  auto from_value = parse_state_machine(json::parse(kEveryType));
  ASSERT_TRUE(from_text.ok()) << from_text.error().message();
  ASSERT_TRUE(from_value.ok()) << from_value.error().message();
  EXPECT_EQ((*from_text)->states.size(), (*from_value)->states.size());
  EXPECT_EQ((*from_text)->find("Each")->label, (*from_value)->find("Each")->label);
}

TEST(StateMachine, FillsDefaultsForAbsentFields) {
  auto parsed = parse_state_machine(single(R"("Type": "Pass", "End": true)"));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  const StateMachine& m = **parsed;
  EXPECT_EQ(m.version, "1.0");
  EXPECT_FALSE(m.timeout_seconds.has_value());
  const State* s = m.find("S");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->input_path->text(), "$");
  EXPECT_EQ(s->output_path->text(), "$");
  EXPECT_EQ(s->result_path->text(), "$");
  EXPECT_FALSE(s->parameters.has_value());
  EXPECT_FALSE(s->result.has_value());
  EXPECT_TRUE(s->end);
  EXPECT_EQ(m.find("Nope"), nullptr);
}

TEST(StateMachine, ReadsTheOlderMapFieldsAndDefaults) {
  auto parsed = parse_state_machine(single(R"(
    "Type": "Map", "End": true, "Parameters": {"v.$": "$$.Map.Item.Value"},
    "Iterator": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}})"));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  const State* map = (*parsed)->find("S");
  ASSERT_NE(map, nullptr);
  EXPECT_EQ(map->map_mode, State::MapMode::kInline);
  ASSERT_NE(map->item_processor, nullptr);
  EXPECT_EQ(map->item_processor->start_at, "I");
  ASSERT_TRUE(map->parameters.has_value());
  EXPECT_TRUE(map->parameters->as_object().contains("v.$"));
  EXPECT_EQ(map->items_path->text(), "$");
  EXPECT_FALSE(map->max_concurrency.present());
  EXPECT_FALSE(map->tolerated_failure_count.present());
}

TEST(StateMachine, KeepsWaitAndFailLiterals) {
  auto parsed = parse_state_machine(machine(R"(
    "S": {"Type": "Wait", "Timestamp": "2024-03-14T01:59:00+02:00", "Next": "T"},
    "T": {"Type": "Wait", "Seconds": 0, "Next": "U"},
    "U": {"Type": "Wait", "TimestampPath": "$$.Execution.StartTime", "Next": "F"},
    "F": {"Type": "Fail", "Error": "Custom.Error", "Cause": "it broke"})"));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  const StateMachine& m = **parsed;
  EXPECT_EQ(m.find("S")->wait_timestamp, "2024-03-14T01:59:00+02:00");
  EXPECT_EQ(m.find("T")->wait_seconds, 0);
  ASSERT_TRUE(m.find("U")->wait_timestamp_path.has_value());
  EXPECT_TRUE(m.find("U")->wait_timestamp_path->is_context());
  EXPECT_EQ(m.find("F")->error, "Custom.Error");
  EXPECT_EQ(m.find("F")->cause, "it broke");
  EXPECT_FALSE(m.find("F")->error_expression.has_value());
}

TEST(StateMachine, NamesEachStateType) {
  EXPECT_EQ(state_type_name(StateType::kPass), "Pass");
  EXPECT_EQ(state_type_name(StateType::kTask), "Task");
  EXPECT_EQ(state_type_name(StateType::kChoice), "Choice");
  EXPECT_EQ(state_type_name(StateType::kWait), "Wait");
  EXPECT_EQ(state_type_name(StateType::kSucceed), "Succeed");
  EXPECT_EQ(state_type_name(StateType::kFail), "Fail");
  EXPECT_EQ(state_type_name(StateType::kParallel), "Parallel");
  EXPECT_EQ(state_type_name(StateType::kMap), "Map");
}

// ---------------------------------------------------------------------------------------------
// Definitions that must load.

struct ValidCase {
  std::string name;
  std::string definition;
};

void PrintTo(const ValidCase& c, std::ostream* out) {  // NOLINT(readability-identifier-naming)
  *out << c.name;
}

class StateMachineValid : public testing::TestWithParam<ValidCase> {};

TEST_P(StateMachineValid, Loads) {
  auto parsed = parse_state_machine(GetParam().definition);
  EXPECT_TRUE(parsed.ok()) << parsed.error().message();
}

std::string name_of_length(std::size_t n, const std::string& unit) {
  std::string name;
  for (std::size_t i = 0; i < n; ++i)
    name += unit;
  return name;
}

INSTANTIATE_TEST_SUITE_P(
    Definitions, StateMachineValid,
    testing::Values(
        ValidCase{"MinimalPass", single(R"("Type": "Pass", "End": true)")},
        ValidCase{"WhitespaceAroundTheDocument",
                  "\n  " + single(R"("Type": "Pass", "End": true)") + " \r\n\t"},
        ValidCase{"SucceedAlone", single(R"("Type": "Succeed")")},
        ValidCase{"FailWithoutErrorOrCause", single(R"("Type": "Fail")")},
        ValidCase{"EndFalseWithNext", then_done(R"("Type": "Pass", "End": false)")},
        ValidCase{"NameOf80MultiByteCharacters",
                  R"({"StartAt": ")" + name_of_length(80, "é") + R"(", "States": {")" +
                      name_of_length(80, "é") + R"(": {"Type": "Succeed"}}})"},
        ValidCase{"ContextPathInInputPath",
                  single(R"("Type": "Pass", "InputPath": "$$.Execution.Input", "End": true)")},
        ValidCase{"NullInputOutputAndResultPaths",
                  single(R"("Type": "Pass", "InputPath": null, "OutputPath": null,
                            "ResultPath": null, "End": true)")},
        ValidCase{"ChoiceWithoutDefault", machine(R"("S": {"Type": "Choice", "Choices": [
                               {"Variable": "$.a", "IsPresent": true, "Next": "Done"}]},
                             "Done": {"Type": "Succeed"})")},
        ValidCase{"StateReachedOnlyThroughACatcher",
                  machine(R"("S": {"Type": "Task", "Resource": "r", "End": true,
                                   "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Oops"}]},
                             "Oops": {"Type": "Fail"})")},
        ValidCase{"LoopWithAnExit", machine(R"("S": {"Type": "Pass", "Next": "C"},
                             "C": {"Type": "Choice", "Choices": [
                               {"Variable": "$.more", "BooleanEquals": true, "Next": "S"}],
                               "Default": "Done"},
                             "Done": {"Type": "Succeed"})")},
        ValidCase{"TimeoutSecondsPathAndHeartbeatSecondsPath",
                  single(R"("Type": "Task", "Resource": "r", "End": true,
                            "TimeoutSecondsPath": "$.t", "HeartbeatSecondsPath": "$.h")")},
        ValidCase{"HeartbeatAloneWithoutTimeout",
                  single(R"("Type": "Task", "Resource": "r", "End": true,
                            "HeartbeatSeconds": 100)")},
        ValidCase{"ParametersWithUuidAndEmptyKeyParts", single(R"j("Type": "Pass", "End": true,
                            "Parameters": {"id.$": "States.UUID()", ".$": 5})j")},
        ValidCase{"IntegerWrittenAsDouble",
                  single(R"("Type": "Wait", "Seconds": 10.0, "End": true)")},
        ValidCase{"DistributedMapWithPercentageFraction",
                  map_with(std::string(kDistributed) +
                           R"(, "ToleratedFailurePercentage": 12.5, "MaxConcurrencyPath": "$.c",
                              "ToleratedFailureCountPath": "$.n",
                              "ItemBatcher": {"MaxInputBytesPerBatch": 1024})")},
        ValidCase{"MapWithZeroConcurrency",
                  map_with(std::string(kProcessor) + R"(, "MaxConcurrency": 0)")},
        ValidCase{"InlineModeWritten",
                  map_with(R"("ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"},
                             "StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}})")},
        ValidCase{"SameNameInTwoObjectsOfATemplate", single(R"("Type": "Pass", "End": true,
                            "Parameters": {"a": {"x.$": "$.x"}, "b": {"x.$": "$.y"}})")},
        ValidCase{"StateLevelJsonPath",
                  single(R"("Type": "Pass", "QueryLanguage": "JSONPath", "End": true)")}),
    case_name<ValidCase>);

// ---------------------------------------------------------------------------------------------
// Definitions that must be refused, each with a piece of the message: the place (state and
// field) and what is wrong.

struct InvalidCase {
  std::string name;
  std::string definition;
  std::string error;
};

void PrintTo(const InvalidCase& c, std::ostream* out) {  // NOLINT(readability-identifier-naming)
  *out << c.name;
}

class StateMachineInvalid : public testing::TestWithParam<InvalidCase> {};

TEST_P(StateMachineInvalid, IsRefusedNamingThePlace) {
  const auto& c = GetParam();
  auto parsed = parse_state_machine(c.definition);
  ASSERT_FALSE(parsed.ok()) << "loaded: " << c.definition;
  EXPECT_EQ(parsed.error().code(), core::ErrorCode::kInvalidArgument);
  EXPECT_NE(parsed.error().message().find(c.error), std::string::npos)
      << "message: " << parsed.error().message() << "\nwanted: " << c.error;
}

// The same definitions given as a parsed JSON value fail the same way.
TEST_P(StateMachineInvalid, IsRefusedTheSameFromAValue) {
  const auto& c = GetParam();
  auto parsed = parse_state_machine(json::parse(c.definition));
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message().find(c.error), std::string::npos)
      << "message: " << parsed.error().message() << "\nwanted: " << c.error;
}

// Problems only JSON text can have: syntax, duplicate keys, trailing text. Each message gives
// the line and column.
class StateMachineText : public testing::TestWithParam<InvalidCase> {};

TEST_P(StateMachineText, IsRefusedWithThePosition) {
  const auto& c = GetParam();
  auto parsed = parse_state_machine(c.definition);
  ASSERT_FALSE(parsed.ok()) << "loaded: " << c.definition;
  EXPECT_EQ(parsed.error().code(), core::ErrorCode::kInvalidArgument);
  EXPECT_NE(parsed.error().message().find(c.error), std::string::npos)
      << "message: " << parsed.error().message() << "\nwanted: " << c.error;
}

INSTANTIATE_TEST_SUITE_P(
    Json, StateMachineText,
    testing::Values(
        InvalidCase{"Truncated", R"({"StartAt": )", "definition: not valid JSON at line 1"},
        InvalidCase{"ErrorOnSecondLine", "{\"StartAt\": \"S\",\n  \"States\" {}}",
                    "not valid JSON at line 2, column 12"},
        InvalidCase{"DuplicateStateName",
                    machine(R"("S": {"Type": "Succeed"}, "S": {"Type": "Fail"})"),
                    "definition: the key 'S' appears twice in one object, at line 1"},
        InvalidCase{"DuplicateFieldInAState",
                    single("\"Type\": \"Pass\",\n\"End\": true, \"End\": false"),
                    "definition: the key 'End' appears twice in one object, at line 2"},
        InvalidCase{"TextAfterTheDocument", single(R"("Type": "Succeed")") + " {}",
                    "definition: not valid JSON at line 1, column 56: text after the document"},
        InvalidCase{"Empty", "", "definition: not valid JSON at line 1, column 1"}),
    case_name<InvalidCase>);

INSTANTIATE_TEST_SUITE_P(
    TopLevel, StateMachineInvalid,
    testing::Values(
        InvalidCase{"NotAnObject", "[]", "definition: must be a JSON object"},
        InvalidCase{"StartAtMissing", R"({"States": {"S": {"Type": "Succeed"}}})",
                    "StartAt: is required"},
        InvalidCase{"StartAtNotAString", R"({"StartAt": 5, "States": {"S": {"Type": "Succeed"}}})",
                    "StartAt: must be a string"},
        InvalidCase{"StartAtNamesNoState",
                    R"({"StartAt": "Nope", "States": {"S": {"Type": "Succeed"}}})",
                    "StartAt: no state named 'Nope'"},
        InvalidCase{"StatesMissing", R"({"StartAt": "S"})", "States: is required"},
        InvalidCase{"StatesEmpty", R"({"StartAt": "S", "States": {}})",
                    "States: must be a non-empty object"},
        InvalidCase{"StatesAnArray", R"({"StartAt": "S", "States": []})",
                    "States: must be a non-empty object"},
        InvalidCase{"UnknownTopLevelField",
                    R"({"StartAt": "S", "Statez": 1, "States": {"S": {"Type": "Succeed"}}})",
                    "Statez: unknown field"},
        InvalidCase{
            "TimeoutSecondsZero",
            R"({"StartAt": "S", "TimeoutSeconds": 0, "States": {"S": {"Type": "Succeed"}}})",
            "TimeoutSeconds: must be between 1 and 99999999"},
        InvalidCase{"TimeoutSecondsFraction",
                    R"({"StartAt": "S", "TimeoutSeconds": 1.5,
                        "States": {"S": {"Type": "Succeed"}}})",
                    "TimeoutSeconds: must be an integer"},
        InvalidCase{"QueryLanguageJsonata",
                    R"({"StartAt": "S", "QueryLanguage": "JSONata",
                        "States": {"S": {"Type": "Succeed"}}})",
                    "QueryLanguage: JSONata is not supported"},
        InvalidCase{"QueryLanguageUnknown",
                    R"({"StartAt": "S", "QueryLanguage": "XPath",
                        "States": {"S": {"Type": "Succeed"}}})",
                    "QueryLanguage: must be \"JSONPath\""},
        InvalidCase{"VersionOtherThanOne",
                    R"({"StartAt": "S", "Version": "2.0", "States": {"S": {"Type": "Succeed"}}})",
                    "Version: only \"1.0\" is supported"},
        InvalidCase{"CommentNotAString",
                    R"({"StartAt": "S", "Comment": 5, "States": {"S": {"Type": "Succeed"}}})",
                    "Comment: must be a string"}),
    case_name<InvalidCase>);

INSTANTIATE_TEST_SUITE_P(
    StateNamesAndTypes, StateMachineInvalid,
    testing::Values(
        InvalidCase{"EmptyStateName", R"({"StartAt": "S", "States": {"": {"Type": "Succeed"}}})",
                    "States: a state name must not be empty"},
        InvalidCase{
            "StateNameOf81Characters",
            R"({"StartAt": "S", "States": {")" + name_of_length(81, "a") +
                R"(": {"Type": "Succeed"}}})",
            "States." + name_of_length(81, "a") + ": the state name is longer than 80 characters"},
        InvalidCase{"NameUsedInABranchAndOutside",
                    machine(R"("S": {"Type": "Parallel", "Next": "Done", "Branches": [
                                 {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}]},
                               "Done": {"Type": "Succeed"})"),
                    "States.Done: the state name 'Done' is already used at "
                    "States.S.Branches[0].States.Done"},
        InvalidCase{"StateNotAnObject", machine(R"("S": 5)"), "States.S: must be a JSON object"},
        InvalidCase{"TypeMissing", single(R"("End": true)"), "States.S.Type: is required"},
        InvalidCase{"TypeUnknown", single(R"("Type": "Lambda", "End": true)"),
                    "States.S.Type: unknown state type 'Lambda'"},
        InvalidCase{"TypeNotAString", single(R"("Type": 1, "End": true)"),
                    "States.S.Type: must be a string"},
        InvalidCase{"UnknownField", single(R"("Type": "Pass", "End": true, "Foo": 1)"),
                    "States.S.Foo: unknown field"},
        InvalidCase{"PassWithResource", single(R"("Type": "Pass", "End": true, "Resource": "r")"),
                    "States.S.Resource: is not a field of a Pass state"},
        InvalidCase{"PassWithResultSelector",
                    single(R"("Type": "Pass", "End": true, "ResultSelector": {})"),
                    "States.S.ResultSelector: is not a field of a Pass state"},
        InvalidCase{"SucceedWithNext",
                    machine(R"("S": {"Type": "Succeed", "Next": "T"}, "T": {"Type": "Succeed"})"),
                    "States.S.Next: is not a field of a Succeed state"},
        InvalidCase{"SucceedWithResultPath", single(R"("Type": "Succeed", "ResultPath": "$.a")"),
                    "States.S.ResultPath: is not a field of a Succeed state"},
        InvalidCase{"FailWithEnd", single(R"("Type": "Fail", "End": true)"),
                    "States.S.End: is not a field of a Fail state"},
        InvalidCase{"FailWithInputPath", single(R"("Type": "Fail", "InputPath": "$")"),
                    "States.S.InputPath: is not a field of a Fail state"},
        InvalidCase{"FailWithOutputPath", single(R"("Type": "Fail", "OutputPath": "$")"),
                    "States.S.OutputPath: is not a field of a Fail state"},
        InvalidCase{"ChoiceWithEnd", single(R"("Type": "Choice", "End": true, "Choices": [
                               {"Variable": "$.a", "IsNull": true, "Next": "S"}])"),
                    "States.S.End: is not a field of a Choice state"},
        InvalidCase{"ChoiceWithNext", single(R"("Type": "Choice", "Next": "S", "Choices": [
                               {"Variable": "$.a", "IsNull": true, "Next": "S"}])"),
                    "States.S.Next: is not a field of a Choice state"},
        InvalidCase{"ChoiceWithResultPath",
                    single(R"("Type": "Choice", "ResultPath": "$.r", "Choices": [
                               {"Variable": "$.a", "IsNull": true, "Next": "S"}])"),
                    "States.S.ResultPath: is not a field of a Choice state"},
        InvalidCase{"ChoiceWithParameters",
                    single(R"("Type": "Choice", "Parameters": {}, "Choices": [
                               {"Variable": "$.a", "IsNull": true, "Next": "S"}])"),
                    "States.S.Parameters: is not a field of a Choice state"},
        InvalidCase{"WaitWithRetry",
                    single(R"("Type": "Wait", "Seconds": 1, "End": true, "Retry": [])"),
                    "States.S.Retry: is not a field of a Wait state"},
        InvalidCase{"AssignRefused", single(R"("Type": "Pass", "End": true, "Assign": {"x": 1})"),
                    "States.S.Assign: state machine variables (Assign) are not supported"},
        InvalidCase{"OutputIsAJsonataField",
                    single(R"("Type": "Pass", "End": true, "Output": {"x": 1})"),
                    "States.S.Output: is a JSONata field"},
        InvalidCase{"StateQueryLanguageJsonata",
                    single(R"("Type": "Pass", "End": true, "QueryLanguage": "JSONata")"),
                    "States.S.QueryLanguage: only \"JSONPath\" is supported"},
        InvalidCase{"StateCommentNotAString",
                    single(R"("Type": "Pass", "End": true, "Comment": [])"),
                    "States.S.Comment: must be a string, not an array"}),
    case_name<InvalidCase>);

INSTANTIATE_TEST_SUITE_P(
    Transitions, StateMachineInvalid,
    testing::Values(
        InvalidCase{"NeitherNextNorEnd", single(R"("Type": "Pass")"),
                    "States.S.Next: is required (or \"End\": true)"},
        InvalidCase{"EndFalseWithoutNext", single(R"("Type": "Pass", "End": false)"),
                    "States.S.Next: is required"},
        InvalidCase{"NextAndEnd", then_done(R"("Type": "Pass", "End": true)"),
                    "States.S.End: cannot be combined with Next"},
        InvalidCase{"EndNotABoolean", single(R"("Type": "Pass", "End": "yes")"),
                    "States.S.End: must be a boolean"},
        InvalidCase{"NextEmpty", single(R"("Type": "Pass", "Next": "")"),
                    "States.S.Next: must not be empty"},
        InvalidCase{"NextNotAString", single(R"("Type": "Pass", "Next": 3)"),
                    "States.S.Next: must be a string"},
        InvalidCase{"NextNamesNoState", single(R"("Type": "Pass", "Next": "Nope")"),
                    "States.S.Next: no state named 'Nope'"},
        InvalidCase{
            "NextIsCaseSensitive",
            machine(R"("S": {"Type": "Pass", "Next": "done"}, "Done": {"Type": "Succeed"})"),
            "States.S.Next: no state named 'done'"},
        InvalidCase{"UnreachableState",
                    machine(R"("S": {"Type": "Succeed"}, "Orphan": {"Type": "Succeed"})"),
                    "States.Orphan: is not reachable from StartAt 'S'"},
        InvalidCase{
            "NoTerminalState",
            machine(R"("S": {"Type": "Pass", "Next": "T"}, "T": {"Type": "Pass", "Next": "S"})"),
            "States: no terminal state (End: true, Succeed or Fail) is reachable"},
        InvalidCase{"WaitJumpsIntoABranch",
                    machine(R"("S": {"Type": "Parallel", "Next": "W", "Branches": [
                                 {"StartAt": "B", "States": {"B": {"Type": "Succeed"}}}]},
                               "W": {"Type": "Wait", "Seconds": 1, "Next": "B"})"),
                    "States.W.Next: no state named 'B'"}),
    case_name<InvalidCase>);

INSTANTIATE_TEST_SUITE_P(
    PathsAndTemplates, StateMachineInvalid,
    testing::Values(
        InvalidCase{"InputPathDoesNotParse",
                    single(R"("Type": "Pass", "End": true, "InputPath": "$.a[")"),
                    "States.S.InputPath: path '$.a['"},
        InvalidCase{"InputPathNotAString", single(R"("Type": "Pass", "End": true, "InputPath": 1)"),
                    "States.S.InputPath: must be a path string, not a number"},
        InvalidCase{"OutputPathWithoutDollar",
                    single(R"("Type": "Pass", "End": true, "OutputPath": "a.b")"),
                    "States.S.OutputPath: path 'a.b'"},
        InvalidCase{"ResultPathWildcard",
                    single(R"("Type": "Pass", "End": true, "ResultPath": "$.a[*]")"),
                    "States.S.ResultPath: reference path '$.a[*]': a wildcard"},
        InvalidCase{"ResultPathDescendants",
                    single(R"("Type": "Pass", "End": true, "ResultPath": "$..a")"),
                    "States.S.ResultPath: reference path '$..a'"},
        InvalidCase{"ResultPathIntoContext",
                    single(R"("Type": "Pass", "End": true, "ResultPath": "$$.Execution")"),
                    "States.S.ResultPath: cannot write into the context object"},
        InvalidCase{"ParametersNotAnObject",
                    single(R"("Type": "Pass", "End": true, "Parameters": [1])"),
                    "States.S.Parameters: must be a JSON object, not an array"},
        InvalidCase{"DynamicFieldNotAString",
                    single(R"("Type": "Pass", "End": true, "Parameters": {"a.$": 5})"),
                    "States.S.Parameters.a.$: must be a string holding a path or an intrinsic"},
        InvalidCase{"DynamicFieldPlainText",
                    single(R"("Type": "Pass", "End": true, "Parameters": {"a.$": "hello"})"),
                    "States.S.Parameters.a.$: is neither a path"},
        InvalidCase{"DynamicFieldBadPath",
                    single(R"("Type": "Pass", "End": true, "Parameters": {"a.$": "$.a["})"),
                    "States.S.Parameters.a.$: path '$.a['"},
        InvalidCase{"DynamicFieldDuplicatesAPlainOne", single(R"("Type": "Pass", "End": true,
                              "Parameters": {"a": 1, "a.$": "$.a"})"),
                    "States.S.Parameters.a.$: names the field 'a' twice"},
        InvalidCase{"NestedDynamicField", single(R"("Type": "Pass", "End": true,
                              "Parameters": {"outer": {"b.$": true}})"),
                    "States.S.Parameters.outer.b.$: must be a string"},
        InvalidCase{"DynamicFieldInsideAnArray", single(R"("Type": "Pass", "End": true,
                              "Parameters": {"list": [0, {"c.$": "nope"}]})"),
                    "States.S.Parameters.list[1].c.$: is neither a path"},
        InvalidCase{"IntrinsicSyntaxError", single(R"("Type": "Pass", "End": true,
                              "Parameters": {"a.$": "States.Format('x', $.a"})"),
                    "States.S.Parameters.a.$: syntax error at position"},
        InvalidCase{"IntrinsicUnknownFunction", single(R"j("Type": "Pass", "End": true,
                              "Parameters": {"a.$": "States.Nope($.a)"})j"),
                    "States.S.Parameters.a.$: unknown function States.Nope"},
        InvalidCase{"ResultSelectorBadPath", single(R"("Type": "Task", "Resource": "r", "End": true,
                              "ResultSelector": {"r.$": "$.["})"),
                    "States.S.ResultSelector.r.$: path '$.['"}),
    case_name<InvalidCase>);

INSTANTIATE_TEST_SUITE_P(
    Task, StateMachineInvalid,
    testing::Values(
        InvalidCase{"ResourceMissing", single(R"("Type": "Task", "End": true)"),
                    "States.S.Resource: is required"},
        InvalidCase{"ResourceEmpty", single(R"("Type": "Task", "Resource": "", "End": true)"),
                    "States.S.Resource: must not be empty"},
        InvalidCase{"ResourceNotAString", single(R"("Type": "Task", "Resource": {}, "End": true)"),
                    "States.S.Resource: must be a string, not an object"},
        InvalidCase{"TimeoutSecondsZero",
                    single(R"("Type": "Task", "Resource": "r", "End": true, "TimeoutSeconds": 0)"),
                    "States.S.TimeoutSeconds: must be between 1 and 99999999"},
        InvalidCase{"TimeoutSecondsTooLarge",
                    single(R"("Type": "Task", "Resource": "r", "End": true,
                              "TimeoutSeconds": 100000000)"),
                    "States.S.TimeoutSeconds: must be between 1 and 99999999"},
        InvalidCase{"TimeoutSecondsAString", single(R"("Type": "Task", "Resource": "r", "End": true,
                              "TimeoutSeconds": "10")"),
                    "States.S.TimeoutSeconds: must be an integer, not a string"},
        InvalidCase{"TimeoutSecondsAndPath", single(R"("Type": "Task", "Resource": "r", "End": true,
                              "TimeoutSeconds": 10, "TimeoutSecondsPath": "$.t")"),
                    "States.S.TimeoutSecondsPath: cannot be combined with TimeoutSeconds"},
        InvalidCase{"TimeoutSecondsPathNotAReference",
                    single(R"("Type": "Task", "Resource": "r", "End": true,
                              "TimeoutSecondsPath": "$.t[*]")"),
                    "States.S.TimeoutSecondsPath: reference path"},
        InvalidCase{"HeartbeatNotBelowTimeout",
                    single(R"("Type": "Task", "Resource": "r", "End": true,
                              "TimeoutSeconds": 10, "HeartbeatSeconds": 10)"),
                    "States.S.HeartbeatSeconds: must be smaller than TimeoutSeconds (10)"},
        InvalidCase{"HeartbeatFraction", single(R"("Type": "Task", "Resource": "r", "End": true,
                              "HeartbeatSeconds": 2.5)"),
                    "States.S.HeartbeatSeconds: must be an integer, not a fraction"},
        InvalidCase{"HeartbeatAndPath", single(R"("Type": "Task", "Resource": "r", "End": true,
                              "HeartbeatSeconds": 1, "HeartbeatSecondsPath": "$.h")"),
                    "States.S.HeartbeatSecondsPath: cannot be combined with HeartbeatSeconds"},
        InvalidCase{"CredentialsNotAnObject",
                    single(R"("Type": "Task", "Resource": "r", "End": true,
                              "Credentials": "role")"),
                    "States.S.Credentials: must be a JSON object, not a string"},
        InvalidCase{"RetryNotAnArray",
                    single(R"("Type": "Task", "Resource": "r", "End": true, "Retry": {})"),
                    "States.S.Retry: must be an array"},
        InvalidCase{"RetryBadBackoff", single(R"("Type": "Task", "Resource": "r", "End": true,
                              "Retry": [{"ErrorEquals": ["X"], "BackoffRate": 0.5}])"),
                    "States.S.Retry[0].BackoffRate: must be at least 1.0"},
        InvalidCase{"CatchNextNamesNoState", single(R"("Type": "Task", "Resource": "r", "End": true,
                              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Nope"}])"),
                    "States.S.Catch[0].Next: no state named 'Nope'"},
        InvalidCase{"CatchResultPathIntoContext",
                    single(R"("Type": "Task", "Resource": "r", "End": true,
                              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "S",
                                         "ResultPath": "$$.x"}])"),
                    "States.S.Catch[0].ResultPath: may not write into the context object"},
        InvalidCase{"ParametersInTaskChecked",
                    single(R"("Type": "Task", "Resource": "r", "End": true,
                              "Parameters": {"p.$": 1})"),
                    "States.S.Parameters.p.$: must be a string"}),
    case_name<InvalidCase>);

INSTANTIATE_TEST_SUITE_P(
    Choice, StateMachineInvalid,
    testing::Values(
        InvalidCase{"ChoicesMissing", single(R"("Type": "Choice", "Default": "S")"),
                    "States.S.Choices: is required"},
        InvalidCase{"ChoicesEmpty", single(R"("Type": "Choice", "Choices": [], "Default": "S")"),
                    "States.S.Choices: must be a non-empty array of rules"},
        InvalidCase{"ChoicesNotAnArray", single(R"("Type": "Choice", "Choices": {})"),
                    "States.S.Choices: must be a non-empty array of rules"},
        InvalidCase{"RuleWithoutOperator", machine(R"("S": {"Type": "Pass", "Next": "C"},
                               "C": {"Type": "Choice",
                                     "Choices": [{"Variable": "$.a", "Next": "Done"}]},
                               "Done": {"Type": "Succeed"})"),
                    "States.C.Choices[0]: needs one operator"},
        InvalidCase{"NestedRuleError", machine(R"("S": {"Type": "Choice", "Choices": [
                                 {"And": [{"Variable": "$.a", "StringEquals": 1}], "Next": "D"}]},
                               "D": {"Type": "Succeed"})"),
                    "States.S.Choices[0].And[0]: StringEquals needs a string"},
        InvalidCase{"RuleNextNamesNoState", machine(R"("S": {"Type": "Choice", "Choices": [
                                 {"Variable": "$.a", "IsNull": true, "Next": "D"},
                                 {"Variable": "$.a", "IsNull": false, "Next": "Nope"}]},
                               "D": {"Type": "Succeed"})"),
                    "States.S.Choices[1].Next: no state named 'Nope'"},
        InvalidCase{"DefaultNamesNoState",
                    machine(R"("S": {"Type": "Choice", "Default": "Nope", "Choices": [
                                 {"Variable": "$.a", "IsNull": true, "Next": "D"}]},
                               "D": {"Type": "Succeed"})"),
                    "States.S.Default: no state named 'Nope'"},
        InvalidCase{"DefaultNotAString",
                    machine(R"("S": {"Type": "Choice", "Default": true, "Choices": [
                                 {"Variable": "$.a", "IsNull": true, "Next": "D"}]},
                               "D": {"Type": "Succeed"})"),
                    "States.S.Default: must be a string"},
        InvalidCase{"ChoiceInputPathChecked",
                    machine(R"("S": {"Type": "Choice", "InputPath": "$[", "Choices": [
                                 {"Variable": "$.a", "IsNull": true, "Next": "D"}]},
                               "D": {"Type": "Succeed"})"),
                    "States.S.InputPath: path '$['"}),
    case_name<InvalidCase>);

INSTANTIATE_TEST_SUITE_P(
    Wait, StateMachineInvalid,
    testing::Values(
        InvalidCase{"NoDuration", single(R"("Type": "Wait", "End": true)"),
                    "States.S: needs exactly one of Seconds, Timestamp, SecondsPath and "
                    "TimestampPath"},
        InvalidCase{"SecondsAndTimestamp", single(R"("Type": "Wait", "End": true, "Seconds": 1,
                              "Timestamp": "2024-03-14T01:59:00Z")"),
                    "States.S.Timestamp: cannot be combined with Seconds"},
        InvalidCase{"SecondsPathAndTimestampPath",
                    single(R"("Type": "Wait", "End": true, "SecondsPath": "$.s",
                              "TimestampPath": "$.t")"),
                    "States.S.TimestampPath: cannot be combined with SecondsPath"},
        InvalidCase{"SecondsNegative", single(R"("Type": "Wait", "End": true, "Seconds": -1)"),
                    "States.S.Seconds: must be between 0 and 99999999"},
        InvalidCase{"SecondsFraction", single(R"("Type": "Wait", "End": true, "Seconds": 1.5)"),
                    "States.S.Seconds: must be an integer, not a fraction"},
        InvalidCase{"TimestampNotATimestamp",
                    single(R"("Type": "Wait", "End": true, "Timestamp": "tomorrow")"),
                    "States.S.Timestamp: "},
        InvalidCase{"TimestampWithoutZone",
                    single(R"("Type": "Wait", "End": true, "Timestamp": "2024-03-14T01:59:00")"),
                    "States.S.Timestamp: "},
        InvalidCase{"TimestampLowerCaseZ",
                    single(R"("Type": "Wait", "End": true, "Timestamp": "2024-03-14T01:59:00z")"),
                    "States.S.Timestamp: 'T' and 'Z' must be upper case"},
        InvalidCase{"TimestampNotAString",
                    single(R"("Type": "Wait", "End": true, "Timestamp": 1710381540)"),
                    "States.S.Timestamp: must be a string, not a number"},
        InvalidCase{"SecondsPathNotAReference",
                    single(R"("Type": "Wait", "End": true, "SecondsPath": "$..s")"),
                    "States.S.SecondsPath: reference path '$..s'"},
        InvalidCase{"TimestampPathNotAString",
                    single(R"("Type": "Wait", "End": true, "TimestampPath": 5)"),
                    "States.S.TimestampPath: must be a path string"}),
    case_name<InvalidCase>);

INSTANTIATE_TEST_SUITE_P(
    Fail, StateMachineInvalid,
    testing::Values(
        InvalidCase{"ErrorAndErrorPath",
                    single(R"("Type": "Fail", "Error": "E", "ErrorPath": "$.e")"),
                    "States.S.ErrorPath: cannot be combined with Error"},
        InvalidCase{"CauseAndCausePath",
                    single(R"("Type": "Fail", "Cause": "C", "CausePath": "$.c")"),
                    "States.S.CausePath: cannot be combined with Cause"},
        InvalidCase{"ErrorPathNotAReference", single(R"("Type": "Fail", "ErrorPath": "$.e[*]")"),
                    "States.S.ErrorPath: reference path '$.e[*]'"},
        InvalidCase{"CausePathPlainText", single(R"("Type": "Fail", "CausePath": "it broke")"),
                    "States.S.CausePath: is neither a reference path nor an intrinsic function"},
        InvalidCase{"CausePathIntrinsicSyntax",
                    single(R"j("Type": "Fail", "CausePath": "States.Format('{}' $.c)")j"),
                    "States.S.CausePath: syntax error"},
        InvalidCase{"ErrorPathNotAString", single(R"("Type": "Fail", "ErrorPath": 4)"),
                    "States.S.ErrorPath: must be a path string, not a number"},
        InvalidCase{"ErrorNotAString", single(R"("Type": "Fail", "Error": 4)"),
                    "States.S.Error: must be a string, not a number"},
        InvalidCase{"CauseNotAString", single(R"("Type": "Fail", "Cause": null)"),
                    "States.S.Cause: must be a string, not null"}),
    case_name<InvalidCase>);

INSTANTIATE_TEST_SUITE_P(
    Parallel, StateMachineInvalid,
    testing::Values(
        InvalidCase{"BranchesMissing", single(R"("Type": "Parallel", "End": true)"),
                    "States.S.Branches: is required"},
        InvalidCase{"BranchesEmpty", single(R"("Type": "Parallel", "End": true, "Branches": [])"),
                    "States.S.Branches: must be a non-empty array of state machines"},
        InvalidCase{"BranchNotAnObject",
                    single(R"("Type": "Parallel", "End": true, "Branches": ["x"])"),
                    "States.S.Branches[0]: must be a JSON object, not a string"},
        InvalidCase{"BranchWithoutStartAt", single(R"("Type": "Parallel", "End": true, "Branches": [
                               {"States": {"B": {"Type": "Succeed"}}}])"),
                    "States.S.Branches[0].StartAt: is required"},
        InvalidCase{"BranchWithTimeoutSeconds",
                    single(R"("Type": "Parallel", "End": true, "Branches": [
                               {"StartAt": "B", "TimeoutSeconds": 5,
                                "States": {"B": {"Type": "Succeed"}}}])"),
                    "States.S.Branches[0].TimeoutSeconds: not allowed in a branch, which holds"},
        InvalidCase{"BranchWithProcessorConfig",
                    single(R"("Type": "Parallel", "End": true, "Branches": [
                               {"StartAt": "B", "ProcessorConfig": {"Mode": "INLINE"},
                                "States": {"B": {"Type": "Succeed"}}}])"),
                    "States.S.Branches[0].ProcessorConfig: not allowed in a branch"},
        InvalidCase{"BranchStateErrorCarriesItsPlace",
                    single(R"("Type": "Parallel", "End": true, "Branches": [
                               {"StartAt": "B", "States": {"B": {"Type": "Succeed"}}},
                               {"StartAt": "Check", "States": {
                                 "Check": {"Type": "Pass", "Next": "Nope"}}}])"),
                    "States.S.Branches[1].States.Check.Next: no state named 'Nope'"},
        InvalidCase{"BranchJumpsOut", then_done(R"("Type": "Parallel", "Branches": [
                                  {"StartAt": "B", "States": {"B": {"Type": "Pass",
                                                                    "Next": "Done"}}}])"),
                    "States.S.Branches[0].States.B.Next: no state named 'Done'"},
        InvalidCase{"BranchUnreachableState",
                    single(R"("Type": "Parallel", "End": true, "Branches": [
                               {"StartAt": "B", "States": {"B": {"Type": "Succeed"},
                                                           "Orphan": {"Type": "Succeed"}}}])"),
                    "States.S.Branches[0].States.Orphan: is not reachable from StartAt 'B'"},
        InvalidCase{"BranchWithoutTerminal",
                    single(R"("Type": "Parallel", "End": true, "Branches": [
                               {"StartAt": "B", "States": {"B": {"Type": "Pass",
                                                                 "Next": "B"}}}])"),
                    "States.S.Branches[0].States: no terminal state"},
        InvalidCase{"ParallelWithItemSelector",
                    single(R"("Type": "Parallel", "End": true, "ItemSelector": {}, "Branches": [
                               {"StartAt": "B", "States": {"B": {"Type": "Succeed"}}}])"),
                    "States.S.ItemSelector: is not a field of a Parallel state"},
        InvalidCase{"ParallelCatchNamesNoState",
                    single(R"("Type": "Parallel", "End": true, "Branches": [
                               {"StartAt": "B", "States": {"B": {"Type": "Succeed"}}}],
                               "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "B"}])"),
                    "States.S.Catch[0].Next: no state named 'B'"}),
    case_name<InvalidCase>);

INSTANTIATE_TEST_SUITE_P(
    Map, StateMachineInvalid,
    testing::Values(
        InvalidCase{"ProcessorMissing", map_with(R"("ItemsPath": "$.a")"),
                    "States.S.ItemProcessor: is required (or the older Iterator)"},
        InvalidCase{
            "ProcessorAndIterator",
            map_with(std::string(kProcessor) +
                     R"(, "Iterator": {"StartAt": "J", "States": {"J": {"Type": "Succeed"}}})"),
            "States.S.Iterator: cannot be combined with ItemProcessor"},
        InvalidCase{"ProcessorNotAnObject", map_with(R"("ItemProcessor": [])"),
                    "States.S.ItemProcessor: must be a JSON object, not an array"},
        InvalidCase{"ProcessorUnknownField",
                    map_with(R"("ItemProcessor": {"StartAt": "I", "Extra": 1,
                               "States": {"I": {"Type": "Succeed"}}})"),
                    "States.S.ItemProcessor.Extra: not allowed in an item processor"},
        InvalidCase{"ProcessorJumpsOut",
                    then_done(R"("Type": "Map", "ItemProcessor": {"StartAt": "I",
                                 "States": {"I": {"Type": "Pass", "Next": "Done"}}})"),
                    "States.S.ItemProcessor.States.I.Next: no state named 'Done'"},
        InvalidCase{"IteratorErrorCarriesItsPlace",
                    map_with(R"("Iterator": {"StartAt": "I", "States": {"I": {"Type": "Pass"}}})"),
                    "States.S.Iterator.States.I.Next: is required"},
        InvalidCase{"ItemSelectorAndParameters",
                    map_with(std::string(kProcessor) + R"(, "ItemSelector": {}, "Parameters": {})"),
                    "States.S.Parameters: cannot be combined with ItemSelector"},
        InvalidCase{"ItemSelectorBadField",
                    map_with(std::string(kProcessor) + R"(, "ItemSelector": {"x.$": "x"})"),
                    "States.S.ItemSelector.x.$: is neither a path"},
        InvalidCase{"OlderParametersChecked",
                    map_with(std::string(kProcessor) + R"(, "Parameters": {"x.$": 1})"),
                    "States.S.Parameters.x.$: must be a string"},
        InvalidCase{"ItemsPathNotAReference",
                    map_with(std::string(kProcessor) + R"(, "ItemsPath": "$.items[*]")"),
                    "States.S.ItemsPath: reference path '$.items[*]'"},
        InvalidCase{"ItemsPathNull", map_with(std::string(kProcessor) + R"(, "ItemsPath": null)"),
                    "States.S.ItemsPath: must be a path string, not null"},
        InvalidCase{"MaxConcurrencyNegative",
                    map_with(std::string(kProcessor) + R"(, "MaxConcurrency": -1)"),
                    "States.S.MaxConcurrency: must be between 0 and 99999999"},
        InvalidCase{"MaxConcurrencyAndPath",
                    map_with(std::string(kProcessor) +
                             R"(, "MaxConcurrency": 1, "MaxConcurrencyPath": "$.c")"),
                    "States.S.MaxConcurrencyPath: cannot be combined with MaxConcurrency"},
        InvalidCase{"ModeUnknown",
                    map_with(R"("ItemProcessor": {"ProcessorConfig": {"Mode": "PARALLEL"},
                               "StartAt": "I", "States": {"I": {"Type": "Succeed"}}})"),
                    "States.S.ItemProcessor.ProcessorConfig.Mode: must be \"INLINE\" or "
                    "\"DISTRIBUTED\""},
        InvalidCase{"ProcessorConfigUnknownField",
                    map_with(R"("ItemProcessor": {"ProcessorConfig": {"Speed": 1},
                               "StartAt": "I", "States": {"I": {"Type": "Succeed"}}})"),
                    "States.S.ItemProcessor.ProcessorConfig.Speed: unknown field"},
        InvalidCase{"DistributedWithoutExecutionType",
                    map_with(R"("ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED"},
                               "StartAt": "I", "States": {"I": {"Type": "Succeed"}}})"),
                    "States.S.ItemProcessor.ProcessorConfig.ExecutionType: is required"},
        InvalidCase{"InlineWithExecutionType",
                    map_with(R"("ItemProcessor": {"ProcessorConfig": {"ExecutionType": "EXPRESS"},
                               "StartAt": "I", "States": {"I": {"Type": "Succeed"}}})"),
                    "States.S.ItemProcessor.ProcessorConfig.ExecutionType: is only allowed"},
        InvalidCase{"ExecutionTypeUnknown",
                    map_with(R"("ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED",
                               "ExecutionType": "FAST"},
                               "StartAt": "I", "States": {"I": {"Type": "Succeed"}}})"),
                    "States.S.ItemProcessor.ProcessorConfig.ExecutionType: must be \"STANDARD\""},
        InvalidCase{"ToleratedFailureCountInline",
                    map_with(std::string(kProcessor) + R"(, "ToleratedFailureCount": 1)"),
                    "States.S.ToleratedFailureCount: is only allowed in a DISTRIBUTED Map state"},
        InvalidCase{
            "ToleratedFailurePercentagePathInline",
            map_with(std::string(kProcessor) + R"(, "ToleratedFailurePercentagePath": "$.p")"),
            "States.S.ToleratedFailurePercentagePath: is only allowed in a DISTRIBUTED"},
        InvalidCase{"LabelInline", map_with(std::string(kProcessor) + R"(, "Label": "l")"),
                    "States.S.Label: is only allowed in a DISTRIBUTED Map state"},
        InvalidCase{
            "ItemBatcherInline",
            map_with(std::string(kProcessor) + R"(, "ItemBatcher": {"MaxItemsPerBatch": 2})"),
            "States.S.ItemBatcher: is only allowed in a DISTRIBUTED Map state"},
        InvalidCase{"ToleratedFailurePercentageOver100",
                    map_with(std::string(kDistributed) + R"(, "ToleratedFailurePercentage": 101)"),
                    "States.S.ToleratedFailurePercentage: must be between 0 and 100"},
        InvalidCase{"ToleratedFailureCountFraction",
                    map_with(std::string(kDistributed) + R"(, "ToleratedFailureCount": 0.5)"),
                    "States.S.ToleratedFailureCount: must be an integer"},
        InvalidCase{"ToleratedFailureCountAndPath",
                    map_with(std::string(kDistributed) +
                             R"(, "ToleratedFailureCount": 1, "ToleratedFailureCountPath": "$.n")"),
                    "States.S.ToleratedFailureCountPath: cannot be combined with "
                    "ToleratedFailureCount"},
        InvalidCase{"LabelTooLong",
                    map_with(std::string(kDistributed) + R"(, "Label": ")" +
                             name_of_length(41, "x") + R"(")"),
                    "States.S.Label: must be at most 40 characters"},
        InvalidCase{"LabelEmpty", map_with(std::string(kDistributed) + R"(, "Label": "")"),
                    "States.S.Label: must not be empty"},
        InvalidCase{
            "ItemBatcherWithoutLimit",
            map_with(std::string(kDistributed) + R"(, "ItemBatcher": {"BatchInput": {"a": 1}})"),
            "States.S.ItemBatcher: needs MaxItemsPerBatch or MaxInputBytesPerBatch"},
        InvalidCase{"ItemBatcherUnknownField",
                    map_with(std::string(kDistributed) + R"(, "ItemBatcher": {"MaxItems": 2})"),
                    "States.S.ItemBatcher.MaxItems: unknown field"},
        InvalidCase{
            "ItemBatcherZeroItems",
            map_with(std::string(kDistributed) + R"(, "ItemBatcher": {"MaxItemsPerBatch": 0})"),
            "States.S.ItemBatcher.MaxItemsPerBatch: must be between 1"},
        InvalidCase{"ItemBatcherBatchInputChecked",
                    map_with(std::string(kDistributed) +
                             R"(, "ItemBatcher": {"MaxItemsPerBatch": 2,
                                                  "BatchInput": {"b.$": 2}})"),
                    "States.S.ItemBatcher.BatchInput.b.$: must be a string"},
        InvalidCase{"ItemReaderRefused",
                    map_with(std::string(kDistributed) +
                             R"(, "ItemReader": {"Resource": "arn:aws:states:::s3:getObject"})"),
                    "States.S.ItemReader: reading items from cloud storage is not supported"},
        InvalidCase{"ResultWriterRefused",
                    map_with(std::string(kDistributed) +
                             R"(, "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject"})"),
                    "States.S.ResultWriter: writing results to cloud storage is not supported"},
        InvalidCase{"MapRetryChecked",
                    map_with(std::string(kProcessor) + R"(, "Retry": [{"ErrorEquals": []}])"),
                    "States.S.Retry[0].ErrorEquals: must be a non-empty array"},
        InvalidCase{"MapResultPathIntoContext",
                    map_with(std::string(kProcessor) + R"(, "ResultPath": "$$.Map")"),
                    "States.S.ResultPath: cannot write into the context object"}),
    case_name<InvalidCase>);

// ---------------------------------------------------------------------------------------------
// Limits against hostile definitions.

// Parallel states nested `levels` deep, each with one branch; the innermost branch holds one
// Succeed state.
std::string nested_parallel(int levels) {
  std::string inner = R"({"StartAt": "Leaf", "States": {"Leaf": {"Type": "Succeed"}}})";
  for (int i = levels; i >= 1; --i) {
    inner = R"({"StartAt": "P)" + std::to_string(i) + R"(", "States": {"P)" + std::to_string(i) +
            R"(": {"Type": "Parallel", "End": true, "Branches": [)" + inner + "]}}}";
  }
  return inner;
}

TEST(StateMachineLimits, AcceptsSixteenNestedLevels) {
  auto parsed = parse_state_machine(nested_parallel(16));
  EXPECT_TRUE(parsed.ok()) << parsed.error().message();
}

TEST(StateMachineLimits, RefusesSeventeenNestedLevels) {
  auto parsed = parse_state_machine(nested_parallel(17));
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message().find("nested more than 16 levels deep"), std::string::npos)
      << parsed.error().message();
  EXPECT_NE(parsed.error().message().find("States.P1.Branches[0].States.P2"), std::string::npos)
      << parsed.error().message();
}

// A chain of `count` Pass states, S0 -> S1 -> ... -> the last, which ends.
std::string chain(std::size_t count) {
  std::string states;
  for (std::size_t i = 0; i < count; ++i) {
    if (i > 0) states += ",";
    states += "\"S" + std::to_string(i) + "\": {\"Type\": \"Pass\", ";
    states += i + 1 == count ? std::string("\"End\": true}")
                             : "\"Next\": \"S" + std::to_string(i + 1) + "\"}";
  }
  return R"({"StartAt": "S0", "States": {)" + states + "}}";
}

TEST(StateMachineLimits, AcceptsTenThousandStates) {
  auto parsed = parse_state_machine(chain(10000));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ((*parsed)->states.size(), 10000U);
}

TEST(StateMachineLimits, RefusesMoreThanTenThousandStates) {
  auto parsed = parse_state_machine(chain(10001));
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message().find("States.S10000: the definition holds more than 10000"),
            std::string::npos)
      << parsed.error().message();
}

TEST(StateMachineLimits, RefusesDeeplyNestedJsonText) {
  std::string deep = single(R"("Type": "Pass", "End": true, "Result": )" + std::string(300, '[') +
                            std::string(300, ']'));
  auto parsed = parse_state_machine(deep);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message().find("definition: not valid JSON at line 1"),
            std::string::npos)
      << parsed.error().message();
}

TEST(StateMachineLimits, RefusesDeeplyNestedJsonValue) {
  json::value deep = json::array();
  for (int i = 0; i < 300; ++i) {
    json::array outer;
    outer.push_back(std::move(deep));
    deep = std::move(outer);
  }
  json::value definition = json::parse(single(R"("Type": "Pass", "End": true)"));
  definition.as_object()["States"].as_object()["S"].as_object()["Result"] = std::move(deep);
  auto parsed = parse_state_machine(definition);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message().find("definition: nested more than 256 levels deep"),
            std::string::npos)
      << parsed.error().message();
}

TEST(StateMachineLimits, RefusesATextLargerThanOneMebibyte) {
  std::string big =
      single(R"("Type": "Pass", "End": true, "Comment": ")" + std::string(1024 * 1024, 'x') + "\"");
  auto parsed = parse_state_machine(big);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message().find("definition: is larger than 1048576 bytes"),
            std::string::npos)
      << parsed.error().message();
}

TEST(StateMachineLimits, SharesAParsedMachineBetweenCopies) {
  auto parsed = parse_state_machine(kEveryType);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  std::shared_ptr<const StateMachine> copy = *parsed;
  EXPECT_EQ(copy.get(), parsed->get());
  EXPECT_EQ(copy->find("Each")->item_processor->find("Check")->resource, "check");
}

}  // namespace
}  // namespace homeostat::states
