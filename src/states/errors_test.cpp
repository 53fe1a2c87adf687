#include "states/errors.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <ostream>
#include <string>
#include <vector>

namespace homeostat::states {
namespace {

namespace json = boost::json;

template <typename Case>
std::string case_name(const testing::TestParamInfo<Case>& info) {
  return info.param.name;
}

// ---------------------------------------------------------------------------------------------
// Parsing Retry.

struct RetryParseCase {
  std::string name;
  const char* retry_json;
  const char* error;  // nullptr when the value parses; else the whole expected message
};

void PrintTo(const RetryParseCase& c, std::ostream* out) {  // NOLINT(readability-identifier-naming)
  *out << c.name;
}

class RetryParse : public testing::TestWithParam<RetryParseCase> {};

TEST_P(RetryParse, AcceptsOrRejectsNamingThePlace) {
  const auto& c = GetParam();
  auto parsed = parse_retry(json::parse(c.retry_json), "States.Fetch");
  if (c.error == nullptr) {
    EXPECT_TRUE(parsed.ok()) << parsed.error().message();
    return;
  }
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code(), core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(parsed.error().message(), c.error);
}

INSTANTIATE_TEST_SUITE_P(
    Retry, RetryParse,
    testing::Values(
        RetryParseCase{"empty_array", "[]", nullptr},
        RetryParseCase{"all_fields", R"([{"ErrorEquals": ["A", "B"], "IntervalSeconds": 2,
            "MaxAttempts": 5, "BackoffRate": 1.5, "MaxDelaySeconds": 10,
            "JitterStrategy": "FULL", "Comment": "x"}])",
                       nullptr},
        RetryParseCase{"integral_double_is_an_integer",
                       R"([{"ErrorEquals": ["A"], "IntervalSeconds": 3.0}])", nullptr},
        RetryParseCase{"all_in_last_retrier",
                       R"([{"ErrorEquals": ["A"]}, {"ErrorEquals": ["States.ALL"]}])", nullptr},
        RetryParseCase{"not_an_array", R"({"ErrorEquals": ["A"]})",
                       "States.Fetch.Retry: must be an array"},
        RetryParseCase{"element_not_object", "[1]", "States.Fetch.Retry[0]: must be an object"},
        RetryParseCase{"missing_error_equals", R"([{"MaxAttempts": 1}])",
                       "States.Fetch.Retry[0].ErrorEquals: is required"},
        RetryParseCase{"empty_error_equals", R"([{"ErrorEquals": []}])",
                       "States.Fetch.Retry[0].ErrorEquals: must be a non-empty array of error "
                       "names"},
        RetryParseCase{"non_string_error_name", R"([{"ErrorEquals": [3]}])",
                       "States.Fetch.Retry[0].ErrorEquals: must hold only non-empty strings"},
        RetryParseCase{"all_not_alone", R"([{"ErrorEquals": ["States.ALL", "A"]}])",
                       "States.Fetch.Retry[0].ErrorEquals: States.ALL must appear alone"},
        RetryParseCase{"all_not_last", R"([{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals":
            ["A"]}])",
                       "States.Fetch.Retry[0].ErrorEquals: States.ALL must be in the last "
                       "element"},
        RetryParseCase{"backoff_below_one",
                       R"([{"ErrorEquals": ["A"]}, {"ErrorEquals": ["B"], "BackoffRate": 0.5}])",
                       "States.Fetch.Retry[1].BackoffRate: must be at least 1.0"},
        RetryParseCase{"backoff_not_number", R"([{"ErrorEquals": ["A"], "BackoffRate": "2"}])",
                       "States.Fetch.Retry[0].BackoffRate: must be a number"},
        RetryParseCase{"interval_zero", R"([{"ErrorEquals": ["A"], "IntervalSeconds": 0}])",
                       "States.Fetch.Retry[0].IntervalSeconds: must be between 1 and 99999999"},
        RetryParseCase{"interval_fraction", R"([{"ErrorEquals": ["A"], "IntervalSeconds": 1.5}])",
                       "States.Fetch.Retry[0].IntervalSeconds: must be an integer"},
        RetryParseCase{"max_attempts_negative", R"([{"ErrorEquals": ["A"], "MaxAttempts": -1}])",
                       "States.Fetch.Retry[0].MaxAttempts: must be between 0 and 99999999"},
        RetryParseCase{"max_attempts_string", R"([{"ErrorEquals": ["A"], "MaxAttempts": "3"}])",
                       "States.Fetch.Retry[0].MaxAttempts: must be an integer"},
        RetryParseCase{"max_delay_zero", R"([{"ErrorEquals": ["A"], "MaxDelaySeconds": 0}])",
                       "States.Fetch.Retry[0].MaxDelaySeconds: must be between 1 and 31622400"},
        RetryParseCase{"max_delay_too_large",
                       R"([{"ErrorEquals": ["A"], "MaxDelaySeconds": 31622401}])",
                       "States.Fetch.Retry[0].MaxDelaySeconds: must be between 1 and 31622400"},
        RetryParseCase{"jitter_lowercase", R"([{"ErrorEquals": ["A"], "JitterStrategy": "full"}])",
                       "States.Fetch.Retry[0].JitterStrategy: must be \"FULL\" or \"NONE\""},
        RetryParseCase{"unknown_field", R"([{"ErrorEquals": ["A"], "MaxAttempt": 2}])",
                       "States.Fetch.Retry[0].MaxAttempt: is not a known field"}),
    case_name<RetryParseCase>);

TEST(RetryParseValues, FillsDefaultsWhenFieldsAreAbsent) {
  auto parsed = parse_retry(json::parse(R"([{"ErrorEquals": ["A"]}])"), "S");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  const Retrier& r = parsed->at(0);
  EXPECT_EQ(r.error_equals, std::vector<std::string>{"A"});
  EXPECT_EQ(r.interval_seconds, 1);
  EXPECT_EQ(r.max_attempts, 3);
  EXPECT_EQ(r.backoff_rate, 2.0);
  EXPECT_FALSE(r.max_delay_seconds.has_value());
  EXPECT_EQ(r.jitter, Retrier::Jitter::kNone);
}

TEST(RetryParseValues, ReadsEveryField) {
  auto parsed = parse_retry(json::parse(R"([{"ErrorEquals": ["A"], "IntervalSeconds": 4,
      "MaxAttempts": 0, "BackoffRate": 1.5, "MaxDelaySeconds": 9, "JitterStrategy": "FULL"}])"),
                            "S");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  const Retrier& r = parsed->at(0);
  EXPECT_EQ(r.interval_seconds, 4);
  EXPECT_EQ(r.max_attempts, 0);
  EXPECT_EQ(r.backoff_rate, 1.5);
  EXPECT_EQ(r.max_delay_seconds, 9.0);
  EXPECT_EQ(r.jitter, Retrier::Jitter::kFull);
}

// ---------------------------------------------------------------------------------------------
// Parsing Catch.

struct CatchParseCase {
  std::string name;
  const char* catch_json;
  const char* error;  // nullptr when the value parses; else the whole expected message
};

void PrintTo(const CatchParseCase& c, std::ostream* out) {  // NOLINT(readability-identifier-naming)
  *out << c.name;
}

class CatchParse : public testing::TestWithParam<CatchParseCase> {};

TEST_P(CatchParse, AcceptsOrRejectsNamingThePlace) {
  const auto& c = GetParam();
  auto parsed = parse_catch(json::parse(c.catch_json), "States.Fetch");
  if (c.error == nullptr) {
    EXPECT_TRUE(parsed.ok()) << parsed.error().message();
    return;
  }
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code(), core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(parsed.error().message(), c.error);
}

INSTANTIATE_TEST_SUITE_P(
    Catch, CatchParse,
    testing::Values(
        CatchParseCase{"minimal", R"([{"ErrorEquals": ["A"], "Next": "N"}])", nullptr},
        CatchParseCase{"result_path_and_comment",
                       R"([{"ErrorEquals": ["A"], "Next": "N", "ResultPath": "$.error",
                           "Comment": "c"}])",
                       nullptr},
        CatchParseCase{"result_path_null",
                       R"([{"ErrorEquals": ["A"], "Next": "N", "ResultPath": null}])", nullptr},
        CatchParseCase{"missing_next", R"([{"ErrorEquals": ["A"]}])",
                       "States.Fetch.Catch[0].Next: is required"},
        CatchParseCase{"empty_next", R"([{"ErrorEquals": ["A"], "Next": ""}])",
                       "States.Fetch.Catch[0].Next: must be a non-empty state name"},
        CatchParseCase{"all_not_last",
                       R"([{"ErrorEquals": ["States.ALL"], "Next": "N"},
                           {"ErrorEquals": ["A"], "Next": "M"}])",
                       "States.Fetch.Catch[0].ErrorEquals: States.ALL must be in the last "
                       "element"},
        CatchParseCase{"all_not_alone", R"([{"ErrorEquals": ["A", "States.ALL"], "Next": "N"}])",
                       "States.Fetch.Catch[0].ErrorEquals: States.ALL must appear alone"},
        CatchParseCase{"result_path_not_reference",
                       R"([{"ErrorEquals": ["A"], "Next": "N", "ResultPath": "$..a"}])",
                       "States.Fetch.Catch[0].ResultPath: reference path '$..a': '..' can select "
                       "more than one node, at offset 1"},
        CatchParseCase{"result_path_number",
                       R"([{"ErrorEquals": ["A"], "Next": "N", "ResultPath": 1}])",
                       "States.Fetch.Catch[0].ResultPath: must be a reference path or null"},
        CatchParseCase{"result_path_context",
                       R"([{"ErrorEquals": ["A"], "Next": "N", "ResultPath": "$$.Task"}])",
                       "States.Fetch.Catch[0].ResultPath: may not write into the context "
                       "object"},
        CatchParseCase{"retrier_field_in_catcher",
                       R"([{"ErrorEquals": ["A"], "Next": "N", "MaxAttempts": 1}])",
                       "States.Fetch.Catch[0].MaxAttempts: is not a known field"}),
    case_name<CatchParseCase>);

// The three ResultPath spellings must stay apart: absent is "$", null discards, a path writes.
TEST(CatchParseValues, KeepsAbsentNullAndExplicitResultPathDistinct) {
  auto parsed = parse_catch(json::parse(R"([
      {"ErrorEquals": ["A"], "Next": "Absent"},
      {"ErrorEquals": ["B"], "Next": "Null", "ResultPath": null},
      {"ErrorEquals": ["C"], "Next": "Path", "ResultPath": "$.err"}])"),
                            "S");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  ASSERT_TRUE(parsed->at(0).result_path.has_value());
  EXPECT_EQ(parsed->at(0).result_path->text(), "$");
  EXPECT_FALSE(parsed->at(1).result_path.has_value());
  ASSERT_TRUE(parsed->at(2).result_path.has_value());
  EXPECT_EQ(parsed->at(2).result_path->text(), "$.err");
  EXPECT_EQ(parsed->at(2).next, "Path");
}

// ---------------------------------------------------------------------------------------------
// Matching.

struct MatchCase {
  std::string name;
  std::vector<std::string> error_equals;
  std::string error;
  bool matches;
};

void PrintTo(const MatchCase& c, std::ostream* out) {  // NOLINT(readability-identifier-naming)
  *out << c.name;
}

class ErrorMatch : public testing::TestWithParam<MatchCase> {};

TEST_P(ErrorMatch, MatchesByNameAndWildcard) {
  const auto& c = GetParam();
  EXPECT_EQ(error_matches(c.error_equals, c.error), c.matches);
}

INSTANTIATE_TEST_SUITE_P(
    Matching, ErrorMatch,
    testing::Values(
        MatchCase{"exact_name", {"Lambda.Unknown"}, "Lambda.Unknown", true},
        MatchCase{"second_name_in_list", {"A", "B"}, "B", true},
        MatchCase{"different_name", {"A", "B"}, "C", false},
        MatchCase{"case_sensitive", {"states.timeout"}, "States.Timeout", false},
        MatchCase{"all_matches_custom", {"States.ALL"}, "MyError", true},
        MatchCase{"all_matches_timeout", {"States.ALL"}, "States.Timeout", true},
        MatchCase{"all_skips_runtime", {"States.ALL"}, "States.Runtime", false},
        MatchCase{"all_skips_data_limit", {"States.ALL"}, "States.DataLimitExceeded", false},
        MatchCase{
            "data_limit_by_name", {"States.DataLimitExceeded"}, "States.DataLimitExceeded", true},
        MatchCase{"runtime_never_even_by_name", {"States.Runtime"}, "States.Runtime", false},
        MatchCase{"task_failed_matches_custom", {"States.TaskFailed"}, "Lambda.Timeout", true},
        MatchCase{
            "task_failed_matches_permissions", {"States.TaskFailed"}, "States.Permissions", true},
        MatchCase{"task_failed_skips_timeout", {"States.TaskFailed"}, "States.Timeout", false},
        MatchCase{"timeout_named_beside_task_failed",
                  {"States.TaskFailed", "States.Timeout"},
                  "States.Timeout",
                  true},
        MatchCase{"empty_list_matches_nothing", {}, "A", false}),
    case_name<MatchCase>);

// ---------------------------------------------------------------------------------------------
// Delays.

Retrier retrier(double interval, double backoff, std::optional<double> max_delay = std::nullopt,
                Retrier::Jitter jitter = Retrier::Jitter::kNone) {
  Retrier r;
  r.error_equals = {"States.ALL"};
  r.interval_seconds = interval;
  r.backoff_rate = backoff;
  r.max_delay_seconds = max_delay;
  r.jitter = jitter;
  return r;
}

struct DelayCase {
  std::string name;
  Retrier retrier;
  int retries_made;
  double random;
  int64_t delay_ms;
};

void PrintTo(const DelayCase& c, std::ostream* out) {  // NOLINT(readability-identifier-naming)
  *out << c.name;
}

class RetryDelay : public testing::TestWithParam<DelayCase> {};

TEST_P(RetryDelay, GrowsByBackoffCappedAndJittered) {
  const auto& c = GetParam();
  EXPECT_EQ(retry_delay_ms(c.retrier, c.retries_made, c.random), c.delay_ms);
}

constexpr auto kFull = Retrier::Jitter::kFull;

INSTANTIATE_TEST_SUITE_P(
    Delays, RetryDelay,
    testing::Values(
        DelayCase{"first_retry_waits_interval", retrier(3, 2), 0, 0.5, 3000},
        DelayCase{"second_retry_multiplies_once", retrier(3, 2), 1, 0.5, 6000},
        DelayCase{"fourth_retry_multiplies_thrice", retrier(1, 2), 3, 0.5, 8000},
        DelayCase{"backoff_one_keeps_interval", retrier(2, 1), 5, 0.5, 2000},
        DelayCase{"fractional_backoff", retrier(1, 1.5), 2, 0.5, 2250},
        DelayCase{"cap_applies", retrier(1, 2, 5.0), 4, 0.5, 5000},
        DelayCase{"below_cap_unchanged", retrier(1, 2, 5.0), 2, 0.5, 4000},
        DelayCase{"huge_backoff_hits_hard_cap", retrier(1, 1000), 50, 0.5,
                  int64_t{31622400} * 1000},
        DelayCase{"full_jitter_scales", retrier(2, 2, std::nullopt, kFull), 1, 0.25, 1000},
        DelayCase{"full_jitter_zero_draw", retrier(2, 2, std::nullopt, kFull), 1, 0.0, 0},
        DelayCase{"full_jitter_after_cap", retrier(1, 2, 10.0, kFull), 10, 0.5, 5000},
        DelayCase{"no_jitter_ignores_draw", retrier(2, 2), 0, 0.01, 2000}),
    case_name<DelayCase>);

// ---------------------------------------------------------------------------------------------
// Deciding.

std::vector<Retrier> retriers_of(const char* text) {
  auto parsed = parse_retry(json::parse(text), "S");
  EXPECT_TRUE(parsed.ok()) << parsed.error().message();
  return parsed.ok() ? std::move(parsed).value() : std::vector<Retrier>{};
}

constexpr const char* kTwoRetriers = R"([
    {"ErrorEquals": ["Busy"], "IntervalSeconds": 1, "MaxAttempts": 2},
    {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 5, "MaxAttempts": 1}])";

struct DecideCase {
  std::string name;
  const char* retry_json;
  std::string error;
  std::vector<int> retries_made;
  bool retry;
  int64_t delay_ms;
  std::optional<std::size_t> retrier;
};

void PrintTo(const DecideCase& c, std::ostream* out) {  // NOLINT(readability-identifier-naming)
  *out << c.name;
}

class RetryDecide : public testing::TestWithParam<DecideCase> {};

TEST_P(RetryDecide, FirstMatchingRetrierDecides) {
  const auto& c = GetParam();
  RetryDecision got = decide_retry(retriers_of(c.retry_json), c.error, c.retries_made, 0.5);
  EXPECT_EQ(got.retry, c.retry);
  if (c.retry) {
    EXPECT_EQ(got.delay_ms, c.delay_ms);
  }
  EXPECT_EQ(got.retrier, c.retrier);
}

INSTANTIATE_TEST_SUITE_P(
    Deciding, RetryDecide,
    testing::Values(
        DecideCase{"first_match_retries", kTwoRetriers, "Busy", {0, 0}, true, 1000, 0},
        DecideCase{"other_error_falls_to_all", kTwoRetriers, "Other", {0, 0}, true, 5000, 1},
        DecideCase{
            "spent_retrier_stops_without_trying_later", kTwoRetriers, "Busy", {2, 0}, false, 0, 0},
        DecideCase{"budgets_are_separate", kTwoRetriers, "Other", {2, 0}, true, 5000, 1},
        DecideCase{"missing_counts_are_zero", kTwoRetriers, "Busy", {}, true, 1000, 0},
        DecideCase{"max_attempts_zero_never_retries",
                   R"([{"ErrorEquals": ["Fatal"], "MaxAttempts": 0},
                       {"ErrorEquals": ["States.ALL"]}])",
                   "Fatal",
                   {0, 0},
                   false,
                   0,
                   0},
        DecideCase{
            "no_match_no_retrier", R"([{"ErrorEquals": ["A"]}])", "B", {0}, false, 0, std::nullopt},
        DecideCase{"runtime_is_never_retried",
                   kTwoRetriers,
                   "States.Runtime",
                   {0, 0},
                   false,
                   0,
                   std::nullopt},
        DecideCase{"empty_retry_never_retries", "[]", "A", {}, false, 0, std::nullopt}),
    case_name<DecideCase>);

TEST(RetryCounterTest, CountsEachRetrierSeparatelyUntilSpent) {
  const std::vector<Retrier> retriers = retriers_of(kTwoRetriers);
  RetryCounter counter(retriers);

  EXPECT_TRUE(counter.on_error("Busy", 0.5).retry);
  EXPECT_EQ(counter.on_error("Busy", 0.5).delay_ms, 2000);  // second retry doubles
  EXPECT_TRUE(counter.on_error("Other", 0.5).retry);
  EXPECT_FALSE(counter.on_error("Busy", 0.5).retry);
  EXPECT_FALSE(counter.on_error("Other", 0.5).retry);
  EXPECT_EQ(counter.retries_made(0), 2);
  EXPECT_EQ(counter.retries_made(1), 1);
  EXPECT_EQ(counter.total_retries(), 3);

  counter.reset();
  EXPECT_EQ(counter.total_retries(), 0);
  EXPECT_TRUE(counter.on_error("Busy", 0.5).retry);
}

// ---------------------------------------------------------------------------------------------
// Catching.

std::vector<Catcher> catchers_of(const char* text) {
  auto parsed = parse_catch(json::parse(text), "S");
  EXPECT_TRUE(parsed.ok()) << parsed.error().message();
  return parsed.ok() ? std::move(parsed).value() : std::vector<Catcher>{};
}

constexpr const char* kThreeCatchers = R"([
    {"ErrorEquals": ["States.Timeout"], "Next": "OnTimeout"},
    {"ErrorEquals": ["States.TaskFailed"], "Next": "OnTaskFailed"},
    {"ErrorEquals": ["States.ALL"], "Next": "OnAnything"}])";

struct CatchSelectCase {
  std::string name;
  std::string error;
  const char* next;  // nullptr when no catcher applies
};

// NOLINTNEXTLINE(readability-identifier-naming)
void PrintTo(const CatchSelectCase& c, std::ostream* out) {
  *out << c.name;
}

class CatchSelect : public testing::TestWithParam<CatchSelectCase> {};

TEST_P(CatchSelect, FirstMatchingCatcherInOrderWins) {
  const auto& c = GetParam();
  const std::vector<Catcher> catchers = catchers_of(kThreeCatchers);
  const Catcher* got = find_catcher(catchers, c.error);
  if (c.next == nullptr) {
    EXPECT_EQ(got, nullptr);
    return;
  }
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(got->next, c.next);
}

INSTANTIATE_TEST_SUITE_P(
    Catching, CatchSelect,
    testing::Values(CatchSelectCase{"timeout_by_name", "States.Timeout", "OnTimeout"},
                    CatchSelectCase{"custom_error_by_task_failed", "Lambda.Error", "OnTaskFailed"},
                    CatchSelectCase{"heartbeat_by_task_failed", "States.HeartbeatTimeout",
                                    "OnTaskFailed"},
                    CatchSelectCase{"data_limit_uncaught", "States.DataLimitExceeded", nullptr},
                    CatchSelectCase{"runtime_uncaught", "States.Runtime", nullptr}),
    case_name<CatchSelectCase>);

struct CatchOutputCase {
  std::string name;
  const char* catch_json;
  const char* input_json;
  const char* want_json;  // nullptr when the ResultPath cannot be applied
};

// NOLINTNEXTLINE(readability-identifier-naming)
void PrintTo(const CatchOutputCase& c, std::ostream* out) {
  *out << c.name;
}

class CatchOutput : public testing::TestWithParam<CatchOutputCase> {};

TEST_P(CatchOutput, PlacesErrorOutputByResultPath) {
  const auto& c = GetParam();
  const std::vector<Catcher> catchers = catchers_of(c.catch_json);
  ASSERT_EQ(catchers.size(), 1U);
  StepResult got = apply_catcher(catchers[0], json::parse(c.input_json), {"E", "why"});
  if (c.want_json == nullptr) {
    ASSERT_TRUE(std::holds_alternative<StatesError>(got));
    EXPECT_EQ(std::get<StatesError>(got).error, kResultPathMatchFailure);
    return;
  }
  ASSERT_TRUE(std::holds_alternative<json::value>(got)) << std::get<StatesError>(got).cause;
  EXPECT_EQ(std::get<json::value>(got), json::parse(c.want_json))
      << json::serialize(std::get<json::value>(got));
}

INSTANTIATE_TEST_SUITE_P(
    Catching, CatchOutput,
    testing::Values(
        CatchOutputCase{"absent_result_path_replaces_input",
                        R"([{"ErrorEquals": ["E"], "Next": "N"}])", R"({"a": 1})",
                        R"({"Error": "E", "Cause": "why"})"},
        CatchOutputCase{"null_result_path_keeps_input",
                        R"([{"ErrorEquals": ["E"], "Next": "N", "ResultPath": null}])",
                        R"({"a": 1})", R"({"a": 1})"},
        CatchOutputCase{"path_adds_error_to_input",
                        R"([{"ErrorEquals": ["E"], "Next": "N", "ResultPath": "$.err"}])",
                        R"({"a": 1})", R"({"a": 1, "err": {"Error": "E", "Cause": "why"}})"},
        CatchOutputCase{"path_into_non_object_fails",
                        R"([{"ErrorEquals": ["E"], "Next": "N", "ResultPath": "$.err"}])",
                        R"("text")", nullptr}),
    case_name<CatchOutputCase>);

TEST(PredefinedErrors, ListsEveryNameOnceInOrder) {
  auto names = predefined_error_names();
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), kRuntime), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), kIntrinsicFailure), names.end());
}

}  // namespace
}  // namespace homeostat::states
