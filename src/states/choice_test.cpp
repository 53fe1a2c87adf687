#include "states/choice.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <string>
#include <vector>

namespace homeostat::states {
namespace {

namespace json = boost::json;

// The effective input every evaluation case reads.
constexpr const char* kInput = R"({
  "s": "beta", "other_s": "alpha", "sn": "10",
  "n": 10, "other_n": 10.0, "f": 2.5, "neg": -3, "big": 18446744073709551615,
  "b": true, "nul": null, "arr": [1, 2],
  "ts": "2024-03-01T12:00:00Z", "tso": "2024-03-01T14:00:00+02:00",
  "tsf": "2024-03-01T12:00:00.5Z", "other_ts": "2024-03-01T11:59:59.999Z",
  "tsday": "2024-03-01T01:00:00+02:00", "tslow": "2024-03-01t12:00:00z",
  "badday": "2023-02-29T00:00:00Z", "leap": "2024-02-29T00:00:00Z",
  "file": "log-2024.txt", "star": "a*b", "axb": "axb", "bs": "a\\b"
})";

constexpr const char* kContext = R"({"Execution": {"Name": "beta"}, "State": {"RetryCount": 2}})";

// gtest names each case by its behaviour.
template <typename Case>
std::string case_name(const testing::TestParamInfo<Case>& param) {
  return param.param.name;
}

// ---------------------------------------------------------------------------------------------
// Evaluation.

struct EvaluateCase {
  std::string name;
  const char* rule;  // a top-level rule without Next, which the test adds
  bool want;
  const char* error = nullptr;  // an ASL error name when evaluation must fail
};

void PrintTo(const EvaluateCase& c, std::ostream* out) {  // NOLINT(readability-identifier-naming)
  *out << c.name;
}

class ChoiceEvaluate : public testing::TestWithParam<EvaluateCase> {};

TEST_P(ChoiceEvaluate, DecidesAsDocumented) {
  const auto& c = GetParam();
  auto rule_json = json::parse(c.rule);
  rule_json.as_object()["Next"] = "Next";
  auto rule = parse_choice_rule(rule_json, "Choices[0]");
  ASSERT_TRUE(rule.ok()) << rule.error().message();

  const auto got = evaluate(*rule, json::parse(kInput), Context{json::parse(kContext)});
  if (c.error != nullptr) {
    ASSERT_TRUE(std::holds_alternative<StatesError>(got)) << "got " << std::get<bool>(got);
    EXPECT_EQ(std::get<StatesError>(got).error, c.error);
    return;
  }
  ASSERT_TRUE(std::holds_alternative<bool>(got)) << std::get<StatesError>(got).cause;
  EXPECT_EQ(std::get<bool>(got), c.want);
}

// clang-format off
const std::vector<EvaluateCase> kEvaluateCases = {
    // Strings compare by code point, case-sensitively.
    {"string_equals_matches", R"({"Variable": "$.s", "StringEquals": "beta"})", true},
    {"string_equals_is_case_sensitive", R"({"Variable": "$.s", "StringEquals": "Beta"})", false},
    {"string_less_than", R"({"Variable": "$.s", "StringLessThan": "gamma"})", true},
    {"string_greater_than", R"({"Variable": "$.s", "StringGreaterThan": "alpha"})", true},
    {"string_less_than_equals_on_equal", R"({"Variable": "$.s", "StringLessThanEquals": "beta"})",
     true},
    {"string_greater_than_equals_below", R"({"Variable": "$.s", "StringGreaterThanEquals": "zeta"})",
     false},
    {"string_equals_path_differs", R"({"Variable": "$.s", "StringEqualsPath": "$.other_s"})", false},
    {"string_greater_than_path", R"({"Variable": "$.s", "StringGreaterThanPath": "$.other_s"})",
     true},
    {"string_less_than_path_false", R"({"Variable": "$.s", "StringLessThanPath": "$.other_s"})",
     false},
    {"string_less_than_equals_path_self",
     R"({"Variable": "$.s", "StringLessThanEqualsPath": "$.s"})", true},
    {"string_greater_than_equals_path_self",
     R"({"Variable": "$.s", "StringGreaterThanEqualsPath": "$.s"})", true},

    // Numbers compare by value: 10 equals 10.0, integers beyond int64 still order.
    {"numeric_equals_integer_and_float", R"({"Variable": "$.n", "NumericEquals": 10.0})", true},
    {"numeric_less_than", R"({"Variable": "$.f", "NumericLessThan": 3})", true},
    {"numeric_greater_than_negative", R"({"Variable": "$.neg", "NumericGreaterThan": -4})", true},
    {"numeric_less_than_equals_on_equal", R"({"Variable": "$.n", "NumericLessThanEquals": 10})",
     true},
    {"numeric_greater_than_equals_below", R"({"Variable": "$.f", "NumericGreaterThanEquals": 2.6})",
     false},
    {"numeric_equals_path", R"({"Variable": "$.n", "NumericEqualsPath": "$.other_n"})", true},
    {"numeric_less_than_path", R"({"Variable": "$.f", "NumericLessThanPath": "$.n"})", true},
    {"numeric_greater_than_path_false", R"({"Variable": "$.f", "NumericGreaterThanPath": "$.n"})",
     false},
    {"numeric_less_than_equals_path", R"({"Variable": "$.neg", "NumericLessThanEqualsPath": "$.f"})",
     true},
    {"numeric_greater_than_equals_path",
     R"({"Variable": "$.n", "NumericGreaterThanEqualsPath": "$.other_n"})", true},
    {"numeric_uint64_above_negative", R"({"Variable": "$.big", "NumericGreaterThan": -1})", true},
    {"numeric_uint64_above_int64_max",
     R"({"Variable": "$.big", "NumericGreaterThan": 9223372036854775807})", true},
    {"numeric_array_element", R"({"Variable": "$.arr[1]", "NumericEquals": 2})", true},

    // Booleans.
    {"boolean_equals_true", R"({"Variable": "$.b", "BooleanEquals": true})", true},
    {"boolean_equals_false", R"({"Variable": "$.b", "BooleanEquals": false})", false},
    {"boolean_equals_path", R"({"Variable": "$.b", "BooleanEqualsPath": "$.b"})", true},

    // Timestamps compare as instants: offsets and fractions are taken into account.
    {"timestamp_equals_across_offset",
     R"({"Variable": "$.tso", "TimestampEquals": "2024-03-01T12:00:00Z"})", true},
    {"timestamp_equals_negative_offset",
     R"({"Variable": "$.ts", "TimestampEquals": "2024-03-01T07:00:00-05:00"})", true},
    {"timestamp_equals_ignores_trailing_zero_fraction",
     R"({"Variable": "$.ts", "TimestampEquals": "2024-03-01T12:00:00.000Z"})", true},
    {"timestamp_less_than_by_fraction",
     R"({"Variable": "$.ts", "TimestampLessThan": "2024-03-01T12:00:00.0001Z"})", true},
    {"timestamp_offset_crosses_day", R"({"Variable": "$.tsday",
      "TimestampLessThan": "2024-03-01T00:00:00Z"})", true},
    {"timestamp_greater_than", R"({"Variable": "$.tsf",
      "TimestampGreaterThan": "2024-03-01T12:00:00.499999999999Z"})", true},
    {"timestamp_less_than_equals_same_instant",
     R"({"Variable": "$.tso", "TimestampLessThanEquals": "2024-03-01T12:00:00Z"})", true},
    {"timestamp_greater_than_equals_later",
     R"({"Variable": "$.ts", "TimestampGreaterThanEquals": "2024-03-01T12:00:01Z"})", false},
    {"timestamp_equals_path", R"({"Variable": "$.ts", "TimestampEqualsPath": "$.tso"})", true},
    {"timestamp_less_than_path", R"({"Variable": "$.ts", "TimestampLessThanPath": "$.tsf"})", true},
    {"timestamp_greater_than_path", R"({"Variable": "$.ts",
      "TimestampGreaterThanPath": "$.other_ts"})", true},
    {"timestamp_less_than_equals_path",
     R"({"Variable": "$.other_ts", "TimestampLessThanEqualsPath": "$.ts"})", true},
    {"timestamp_greater_than_equals_path",
     R"({"Variable": "$.ts", "TimestampGreaterThanEqualsPath": "$.tsf"})", false},
    {"timestamp_lowercase_separator_is_not_a_timestamp",
     R"({"Variable": "$.tslow", "TimestampEquals": "2024-03-01T12:00:00Z"})", false},
    {"timestamp_path_to_non_timestamp_is_false",
     R"({"Variable": "$.ts", "TimestampEqualsPath": "$.s"})", false},

    // Type tests; an operand of false negates the test.
    {"is_null_on_null", R"({"Variable": "$.nul", "IsNull": true})", true},
    {"is_null_on_string", R"({"Variable": "$.s", "IsNull": true})", false},
    {"is_null_false_on_string", R"({"Variable": "$.s", "IsNull": false})", true},
    {"is_present_on_present", R"({"Variable": "$.s", "IsPresent": true})", true},
    {"is_present_on_null_value", R"({"Variable": "$.nul", "IsPresent": true})", true},
    {"is_present_on_missing", R"({"Variable": "$.missing", "IsPresent": true})", false},
    {"is_present_false_on_missing", R"({"Variable": "$.missing", "IsPresent": false})", true},
    {"is_present_on_missing_index", R"({"Variable": "$.arr[5]", "IsPresent": true})", false},
    {"is_numeric_on_number", R"({"Variable": "$.n", "IsNumeric": true})", true},
    {"is_numeric_on_numeric_string", R"({"Variable": "$.sn", "IsNumeric": true})", false},
    {"is_string_on_string", R"({"Variable": "$.s", "IsString": true})", true},
    {"is_string_false_on_number", R"({"Variable": "$.n", "IsString": false})", true},
    {"is_boolean_on_boolean", R"({"Variable": "$.b", "IsBoolean": true})", true},
    {"is_boolean_on_null", R"({"Variable": "$.nul", "IsBoolean": true})", false},
    {"is_timestamp_utc", R"({"Variable": "$.ts", "IsTimestamp": true})", true},
    {"is_timestamp_with_offset", R"({"Variable": "$.tso", "IsTimestamp": true})", true},
    {"is_timestamp_leap_day", R"({"Variable": "$.leap", "IsTimestamp": true})", true},
    {"is_timestamp_rejects_impossible_day", R"({"Variable": "$.badday", "IsTimestamp": true})",
     false},
    {"is_timestamp_rejects_plain_string", R"({"Variable": "$.s", "IsTimestamp": true})", false},
    {"is_timestamp_rejects_number", R"({"Variable": "$.n", "IsTimestamp": true})", false},

    // StringMatches: '*' is the only wildcard; \* and \\ are literal.
    {"string_matches_wildcard", R"({"Variable": "$.file", "StringMatches": "log-*.txt"})", true},
    {"string_matches_wrong_suffix", R"({"Variable": "$.file", "StringMatches": "log-*.csv"})",
     false},
    {"string_matches_star_alone", R"({"Variable": "$.s", "StringMatches": "*"})", true},
    {"string_matches_empty_pattern", R"({"Variable": "$.s", "StringMatches": ""})", false},
    {"string_matches_star_in_middle_twice", R"({"Variable": "$.s", "StringMatches": "*e*a"})",
     true},
    {"string_matches_needs_whole_text", R"({"Variable": "$.s", "StringMatches": "bet"})", false},
    {"string_matches_star_matches_empty", R"({"Variable": "$.s", "StringMatches": "beta*"})", true},
    {"string_matches_escaped_star_is_literal", R"({"Variable": "$.star", "StringMatches": "a\\*b"})",
     true},
    {"string_matches_escaped_star_is_not_wildcard",
     R"({"Variable": "$.axb", "StringMatches": "a\\*b"})", false},
    {"string_matches_escaped_backslash", R"({"Variable": "$.bs", "StringMatches": "a\\\\b"})",
     true},
    {"string_matches_on_number_is_false", R"({"Variable": "$.n", "StringMatches": "*"})", false},

    // A value of the wrong type makes the comparison false rather than failing.
    {"string_equals_on_number_is_false", R"({"Variable": "$.n", "StringEquals": "10"})", false},
    {"numeric_equals_on_string_is_false", R"({"Variable": "$.sn", "NumericEquals": 10})", false},
    {"boolean_equals_on_string_is_false", R"({"Variable": "$.s", "BooleanEquals": true})", false},
    {"timestamp_on_number_is_false", R"({"Variable": "$.n",
      "TimestampEquals": "2024-03-01T12:00:00Z"})", false},
    {"string_path_to_number_is_false", R"({"Variable": "$.s", "StringEqualsPath": "$.n"})", false},
    {"numeric_path_to_string_is_false", R"({"Variable": "$.n", "NumericEqualsPath": "$.sn"})",
     false},
    {"numeric_not_equal_on_null_is_false", R"({"Variable": "$.nul", "NumericLessThan": 1})",
     false},

    // A missing Variable or Path operand is an error everywhere but under IsPresent.
    {"missing_variable_fails", R"({"Variable": "$.missing", "StringEquals": "x"})", false,
     "States.Runtime"},
    {"missing_variable_fails_type_test", R"({"Variable": "$.missing", "IsNull": true})", false,
     "States.Runtime"},
    {"missing_variable_fails_string_matches", R"({"Variable": "$.missing",
      "StringMatches": "*"})", false, "States.Runtime"},
    {"missing_path_operand_fails", R"({"Variable": "$.n", "NumericEqualsPath": "$.missing"})",
     false, "States.Runtime"},
    {"missing_context_field_fails", R"({"Variable": "$$.Task.Token", "IsString": true})", false,
     "States.Runtime"},

    // The context object.
    {"context_variable", R"({"Variable": "$$.Execution.Name", "StringEquals": "beta"})", true},
    {"context_path_operand", R"({"Variable": "$.s", "StringEqualsPath": "$$.Execution.Name"})",
     true},
    {"context_numeric", R"({"Variable": "$$.State.RetryCount", "NumericLessThan": 3})", true},

    // And, Or, Not, nested; And and Or stop at the first rule that decides.
    {"and_all_true", R"({"And": [{"Variable": "$.s", "IsString": true},
      {"Variable": "$.n", "NumericEquals": 10}]})", true},
    {"and_one_false", R"({"And": [{"Variable": "$.s", "IsString": true},
      {"Variable": "$.n", "NumericEquals": 11}]})", false},
    {"or_one_true", R"({"Or": [{"Variable": "$.s", "StringEquals": "x"},
      {"Variable": "$.n", "NumericEquals": 10}]})", true},
    {"or_all_false", R"({"Or": [{"Variable": "$.s", "StringEquals": "x"},
      {"Variable": "$.n", "NumericEquals": 11}]})", false},
    {"not_negates", R"({"Not": {"Variable": "$.s", "StringEquals": "beta"}})", false},
    {"not_of_and", R"({"Not": {"And": [{"Variable": "$.b", "BooleanEquals": true},
      {"Variable": "$.n", "NumericGreaterThan": 100}]}})", true},
    {"or_inside_and_inside_not", R"({"Not": {"And": [{"Or": [
      {"Variable": "$.s", "StringEquals": "x"}, {"Variable": "$.s", "StringEquals": "beta"}]},
      {"Variable": "$.ts", "IsTimestamp": true}]}})", false},
    {"and_guarded_by_is_present_skips_missing", R"({"And": [
      {"Variable": "$.missing", "IsPresent": true},
      {"Variable": "$.missing", "StringEquals": "x"}]})", false},
    {"or_stops_before_missing", R"({"Or": [{"Variable": "$.s", "IsString": true},
      {"Variable": "$.missing", "StringEquals": "x"}]})", true},
    {"and_reaches_missing_fails", R"({"And": [{"Variable": "$.s", "IsString": true},
      {"Variable": "$.missing", "StringEquals": "x"}]})", false, "States.Runtime"},
    {"not_passes_error_on", R"({"Not": {"Variable": "$.missing", "IsNull": true}})", false,
     "States.Runtime"},
};
// clang-format on

INSTANTIATE_TEST_SUITE_P(Choice, ChoiceEvaluate, testing::ValuesIn(kEvaluateCases),
                         case_name<EvaluateCase>);

// ---------------------------------------------------------------------------------------------
// Validation.

struct ParseCase {
  std::string name;
  const char* rule;
  const char* error;  // nullptr when the rule is valid; else the whole message or a piece of it
  const char* where = "Choices[2]";
};

void PrintTo(const ParseCase& c, std::ostream* out) {  // NOLINT(readability-identifier-naming)
  *out << c.name;
}

class ChoiceParse : public testing::TestWithParam<ParseCase> {};

TEST_P(ChoiceParse, AcceptsOrNamesThePlaceAndTheFault) {
  const auto& c = GetParam();
  auto rule = parse_choice_rule(json::parse(c.rule), c.where);
  if (c.error == nullptr) {
    ASSERT_TRUE(rule.ok()) << rule.error().message();
    EXPECT_EQ(rule->next, "X");
    return;
  }
  ASSERT_FALSE(rule.ok());
  EXPECT_EQ(rule.error().code(), core::ErrorCode::kInvalidArgument);
  EXPECT_NE(rule.error().message().find(c.error), std::string::npos) << rule.error().message();
}

// clang-format off
const std::vector<ParseCase> kParseCases = {
    {"accepts_comparison_with_comment",
     R"({"Variable": "$.a", "NumericEquals": 1, "Comment": "one", "Next": "X"})", nullptr},
    {"accepts_nested_rules", R"({"And": [{"Not": {"Variable": "$.a", "IsNull": true}},
      {"Or": [{"Variable": "$$.State.Name", "StringMatches": "a\\*\\\\*"}]}], "Next": "X"})",
     nullptr},
    {"refuses_zero_operators", R"({"Variable": "$.a", "Next": "X"})",
     "Choices[2]: needs one operator"},
    {"refuses_two_operators", R"({"Variable": "$.a", "StringEquals": "x", "IsNull": true,
      "Next": "X"})", "Choices[2]: has more than one operator"},
    {"refuses_combinator_and_comparison", R"({"Variable": "$.a", "StringEquals": "x",
      "Not": {"Variable": "$.a", "IsNull": true}, "Next": "X"})", "more than one operator"},
    {"refuses_missing_variable", R"({"StringEquals": "x", "Next": "X"})",
     "Choices[2]: StringEquals needs a Variable"},
    {"refuses_variable_with_and", R"({"Variable": "$.a", "And": [{"Variable": "$.a",
      "IsNull": true}], "Next": "X"})", "Variable is not allowed with And"},
    {"refuses_empty_and", R"({"And": [], "Next": "X"})",
     "Choices[2]: And needs a non-empty array of rules"},
    {"refuses_or_of_object", R"({"Or": {"Variable": "$.a", "IsNull": true}, "Next": "X"})",
     "Or needs a non-empty array of rules"},
    {"refuses_not_of_array", R"({"Not": [{"Variable": "$.a", "IsNull": true}], "Next": "X"})",
     "Choices[2].Not: a choice rule must be an object"},
    {"names_nested_place_of_wrong_operand", R"({"And": [{"Variable": "$.a", "StringEquals": 1}],
      "Next": "X"})", "Choices[2].And[0]: StringEquals needs a string"},
    {"names_deeply_nested_place", R"({"Or": [{"Variable": "$.a", "IsNull": true},
      {"Not": {"Variable": "$.a", "NumericEquals": "1"}}], "Next": "X"})",
     "Choices[2].Or[1].Not: NumericEquals needs a number"},
    {"refuses_string_boolean", R"({"Variable": "$.a", "BooleanEquals": "true", "Next": "X"})",
     "BooleanEquals needs true or false"},
    {"refuses_date_without_time", R"({"Variable": "$.a", "TimestampEquals": "2024-03-01",
      "Next": "X"})", "TimestampEquals needs an RFC 3339 timestamp"},
    {"refuses_lowercase_timestamp", R"({"Variable": "$.a",
      "TimestampLessThan": "2024-03-01t12:00:00z", "Next": "X"})", "needs an RFC 3339 timestamp"},
    {"refuses_timestamp_without_zone", R"({"Variable": "$.a",
      "TimestampLessThan": "2024-03-01T12:00:00", "Next": "X"})", "needs an RFC 3339 timestamp"},
    {"refuses_leap_second", R"({"Variable": "$.a",
      "TimestampLessThan": "2016-12-31T23:59:60Z", "Next": "X"})", "needs an RFC 3339 timestamp"},
    {"refuses_type_test_of_string", R"({"Variable": "$.a", "IsPresent": "yes", "Next": "X"})",
     "IsPresent needs true or false"},
    {"refuses_bad_variable_path", R"({"Variable": "$.a[", "IsNull": true, "Next": "X"})",
     "Choices[2]: Variable: path '$.a['"},
    {"refuses_non_reference_variable", R"({"Variable": "$..a", "IsNull": true, "Next": "X"})",
     "Variable: reference path '$..a': '..' can select more"},
    {"refuses_non_string_variable", R"({"Variable": 1, "IsNull": true, "Next": "X"})",
     "Variable must be a reference path string"},
    {"refuses_path_operand_literal", R"({"Variable": "$.a", "StringEqualsPath": 5,
      "Next": "X"})", "StringEqualsPath needs a reference path string"},
    {"refuses_non_reference_path_operand", R"({"Variable": "$.a",
      "NumericLessThanPath": "$.b[*]", "Next": "X"})", "NumericLessThanPath: reference path '$.b[*]'"},
    {"refuses_unknown_escape", R"({"Variable": "$.a", "StringMatches": "a\\?", "Next": "X"})",
     "unknown escape '\\?' at offset 1"},
    {"refuses_trailing_backslash", R"({"Variable": "$.a", "StringMatches": "a\\", "Next": "X"})",
     "ends with a lone backslash"},
    {"refuses_string_matches_number", R"({"Variable": "$.a", "StringMatches": 1, "Next": "X"})",
     "StringMatches needs a string"},
    {"refuses_missing_next", R"({"Variable": "$.a", "IsNull": true})",
     "Choices[2]: needs Next"},
    {"refuses_next_in_nested_rule", R"({"Not": {"Variable": "$.a", "IsNull": true,
      "Next": "Y"}, "Next": "X"})", "Choices[2].Not: Next is allowed only in a top-level rule"},
    {"refuses_unknown_operator", R"({"Variable": "$.a", "StringContains": "x", "Next": "X"})",
     "unknown field 'StringContains'"},
    {"refuses_string_matches_path", R"({"Variable": "$.a", "StringMatchesPath": "$.b",
      "Next": "X"})", "unknown field 'StringMatchesPath'"},
    {"refuses_non_object_rule", R"("StringEquals")", "Choices[2]: a choice rule must be an object"},
    {"refuses_non_string_comment", R"({"Variable": "$.a", "IsNull": true, "Comment": 1,
      "Next": "X"})", "Comment must be a string"},
};
// clang-format on

INSTANTIATE_TEST_SUITE_P(Choice, ChoiceParse, testing::ValuesIn(kParseCases), case_name<ParseCase>);

}  // namespace
}  // namespace homeostat::states
