#include "states/errors.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <utility>

namespace homeostat::states {
namespace {

namespace json = boost::json;

constexpr std::array<std::string_view, 17> kPredefined = {
    kAll,
    kBranchFailed,
    kDataLimitExceeded,
    kExceedToleratedFailureThreshold,
    kHeartbeatTimeout,
    kHttpSocket,
    kIntrinsicFailure,
    kItemReaderFailed,
    kNoChoiceMatched,
    kParameterPathFailure,
    kPermissions,
    kQueryEvaluationError,
    kResultPathMatchFailure,
    kResultWriterFailed,
    kRuntime,
    kTaskFailed,
    kTimeout,
};

core::Error invalid(const std::string& place, std::string_view message) {
  return {core::ErrorCode::kInvalidArgument, place + ": " + std::string(message)};
}

// "<where>.Retry[2]", the prefix of every message about one element.
std::string element_place(const std::string& where, std::string_view field, std::size_t index) {
  return where + "." + std::string(field) + "[" + std::to_string(index) + "]";
}

// Reads an integer field within [min, max]. JSON has one number type, so 2.0 is accepted as 2,
// as intrinsic functions do; 2.5 is refused rather than rounded.
core::Result<int64_t> read_integer(const json::value& value, const std::string& place, int64_t min,
                                   int64_t max) {
  double number = 0;
  if (value.is_int64()) {
    number = static_cast<double>(value.get_int64());
  } else if (value.is_uint64()) {
    number = static_cast<double>(value.get_uint64());
  } else if (value.is_double() && std::isfinite(value.get_double()) &&
             std::floor(value.get_double()) == value.get_double()) {
    number = value.get_double();
  } else {
    return invalid(place, "must be an integer");
  }

  if (number < static_cast<double>(min) || number > static_cast<double>(max)) {
    return invalid(place, "must be between " + std::to_string(min) + " and " + std::to_string(max));
  }
  return static_cast<int64_t>(number);
}

// ErrorEquals: a non-empty array of non-empty strings, where States.ALL stands alone.
// `last` says whether this element is the last of its array, the only place States.ALL may be.
core::Result<std::vector<std::string>> read_error_equals(const json::object& element,
                                                         const std::string& place, bool last) {
  const std::string field_place = place + ".ErrorEquals";
  const json::value* value = element.if_contains("ErrorEquals");
  if (value == nullptr) return invalid(field_place, "is required");
  if (!value->is_array() || value->get_array().empty()) {
    return invalid(field_place, "must be a non-empty array of error names");
  }

  std::vector<std::string> names;
  for (const json::value& name : value->get_array()) {
    if (!name.is_string() || name.get_string().empty()) {
      return invalid(field_place, "must hold only non-empty strings");
    }
    names.emplace_back(name.get_string());
  }

  const bool has_all = std::find(names.begin(), names.end(), kAll) != names.end();
  if (has_all && names.size() != 1) return invalid(field_place, "States.ALL must appear alone");
  if (has_all && !last) return invalid(field_place, "States.ALL must be in the last element");
  return names;
}

// Refuses a field the element does not define; a misspelt "MaxAttempt" would otherwise be
// ignored silently and the default used.
core::Status check_fields(const json::object& element, const std::string& place,
                          std::span<const std::string_view> allowed) {
  for (const auto& field : element) {
    if (std::find(allowed.begin(), allowed.end(), field.key()) == allowed.end()) {
      return invalid(place + "." + std::string(field.key()), "is not a known field");
    }
  }
  return {};
}

constexpr std::array<std::string_view, 7> kRetrierFields = {
    "ErrorEquals",     "IntervalSeconds", "MaxAttempts", "BackoffRate",
    "MaxDelaySeconds", "JitterStrategy",  "Comment"};
constexpr std::array<std::string_view, 4> kCatcherFields = {"ErrorEquals", "Next", "ResultPath",
                                                            "Comment"};

core::Result<Retrier> parse_retrier(const json::object& element, const std::string& place,
                                    bool last) {
  Retrier retrier;
  if (auto status = check_fields(element, place, kRetrierFields); !status) return status.error();

  auto names = read_error_equals(element, place, last);
  if (!names) return names.error();
  retrier.error_equals = std::move(names).value();

  // The integer fields, each with its documented range.
  if (const json::value* v = element.if_contains("IntervalSeconds")) {
    auto seconds = read_integer(*v, place + ".IntervalSeconds", 1, kMaxIntervalSeconds);
    if (!seconds) return seconds.error();
    retrier.interval_seconds = static_cast<double>(*seconds);
  }
  if (const json::value* v = element.if_contains("MaxAttempts")) {
    auto attempts = read_integer(*v, place + ".MaxAttempts", 0, kMaxMaxAttempts);
    if (!attempts) return attempts.error();
    retrier.max_attempts = static_cast<int>(*attempts);
  }
  if (const json::value* v = element.if_contains("MaxDelaySeconds")) {
    auto seconds = read_integer(*v, place + ".MaxDelaySeconds", 1, kMaxMaxDelaySeconds);
    if (!seconds) return seconds.error();
    retrier.max_delay_seconds = static_cast<double>(*seconds);
  }

  // BackoffRate is any number, fractions included.
  if (const json::value* v = element.if_contains("BackoffRate")) {
    if (!v->is_number()) return invalid(place + ".BackoffRate", "must be a number");
    const double rate = v->to_number<double>();
    if (!std::isfinite(rate) || rate < 1.0) {
      return invalid(place + ".BackoffRate", "must be at least 1.0");
    }
    retrier.backoff_rate = rate;
  }

  if (const json::value* v = element.if_contains("JitterStrategy")) {
    if (v->is_string() && v->get_string() == "FULL") {
      retrier.jitter = Retrier::Jitter::kFull;
    } else if (!(v->is_string() && v->get_string() == "NONE")) {
      return invalid(place + ".JitterStrategy", "must be \"FULL\" or \"NONE\"");
    }
  }
  return retrier;
}

// ResultPath of a catcher: absent keeps the "$" default; null becomes std::nullopt (discard).
core::Result<std::optional<Path>> read_catch_result_path(const json::object& element,
                                                         const std::string& place) {
  const json::value* value = element.if_contains("ResultPath");
  if (value == nullptr) return std::optional<Path>(default_catch_result_path());
  if (value->is_null()) return std::optional<Path>();
  if (!value->is_string()) return invalid(place, "must be a reference path or null");

  auto path = Path::parse_reference(value->get_string());
  if (!path) return invalid(place, path.error().message());
  if (path->is_context()) return invalid(place, "may not write into the context object");
  return std::optional<Path>(std::move(path).value());
}

core::Result<Catcher> parse_catcher(const json::object& element, const std::string& place,
                                    bool last) {
  if (auto status = check_fields(element, place, kCatcherFields); !status) return status.error();

  auto names = read_error_equals(element, place, last);
  if (!names) return names.error();

  const json::value* next = element.if_contains("Next");
  if (next == nullptr) return invalid(place + ".Next", "is required");
  if (!next->is_string() || next->get_string().empty()) {
    return invalid(place + ".Next", "must be a non-empty state name");
  }

  auto result_path = read_catch_result_path(element, place + ".ResultPath");
  if (!result_path) return result_path.error();
  return Catcher{std::move(names).value(), std::move(result_path).value(),
                 std::string(next->get_string())};
}

// Parses every element of a Retry or Catch array with `parse_one`.
template <typename T, typename ParseOne>
core::Result<std::vector<T>> parse_array(const json::value& value, const std::string& where,
                                         std::string_view field, ParseOne parse_one) {
  if (!value.is_array()) return invalid(where + "." + std::string(field), "must be an array");

  const json::array& array = value.get_array();
  std::vector<T> parsed;
  parsed.reserve(array.size());
  for (std::size_t i = 0; i < array.size(); ++i) {
    const std::string place = element_place(where, field, i);
    if (!array[i].is_object()) return invalid(place, "must be an object");
    auto one = parse_one(array[i].get_object(), place, i + 1 == array.size());
    if (!one) return one.error();
    parsed.push_back(std::move(one).value());
  }
  return parsed;
}

bool is_terminal(const std::string& error) {
  return error == kRuntime || error == kDataLimitExceeded;
}

}  // namespace

std::span<const std::string_view> predefined_error_names() {
  return kPredefined;
}

Path default_catch_result_path() {
  // "$" always parses; the assert documents that, not a condition from outside.
  auto path = Path::parse("$");
  assert(path.ok());
  return std::move(path).value();
}

core::Result<std::vector<Retrier>> parse_retry(const json::value& retry, const std::string& where) {
  return parse_array<Retrier>(retry, where, "Retry", parse_retrier);
}

core::Result<std::vector<Catcher>> parse_catch(const json::value& catch_value,
                                               const std::string& where) {
  return parse_array<Catcher>(catch_value, where, "Catch", parse_catcher);
}

bool error_matches(const std::vector<std::string>& error_equals, const std::string& error) {
  // States.Runtime reports a broken definition or interpreter fault; retrying or catching it
  // would hide the fault, so nothing matches it.
  if (error == kRuntime) return false;

  for (const std::string& name : error_equals) {
    if (name == error) return true;
    if (is_terminal(error)) continue;  // wildcards never match a terminal error
    if (name == kAll) return true;
    if (name == kTaskFailed && error != kTimeout) return true;
  }
  return false;
}

std::optional<std::size_t> find_retrier(const std::vector<Retrier>& retriers,
                                        const std::string& error) {
  for (std::size_t i = 0; i < retriers.size(); ++i) {
    if (error_matches(retriers[i].error_equals, error)) return i;
  }
  return std::nullopt;
}

int64_t retry_delay_ms(const Retrier& retrier, int retries_made, double random) {
  // Computed in double seconds: BackoffRate^n overflows int64 quickly, and the cap brings the
  // value back into range before the conversion.
  double seconds = retrier.interval_seconds * std::pow(retrier.backoff_rate, retries_made);
  double cap = static_cast<double>(kMaxMaxDelaySeconds);
  if (retrier.max_delay_seconds) cap = std::min(cap, *retrier.max_delay_seconds);
  if (!std::isfinite(seconds) || seconds > cap) seconds = cap;

  if (retrier.jitter == Retrier::Jitter::kFull) seconds *= std::clamp(random, 0.0, 1.0);
  return std::llround(seconds * 1000.0);
}

RetryDecision decide_retry(const std::vector<Retrier>& retriers, const std::string& error,
                           std::span<const int> retries_made, double random) {
  RetryDecision decision;
  decision.retrier = find_retrier(retriers, error);
  if (!decision.retrier) return decision;

  // Only the first matching retrier counts: once its budget is spent the error goes to Catch,
  // even if a later retrier (say States.ALL) would still allow attempts.
  const std::size_t index = *decision.retrier;
  const int made = index < retries_made.size() ? retries_made[index] : 0;
  if (made >= retriers[index].max_attempts) return decision;

  decision.retry = true;
  decision.delay_ms = retry_delay_ms(retriers[index], made, random);
  return decision;
}

RetryCounter::RetryCounter(const std::vector<Retrier>& retriers)
    : retriers_(retriers), retries_made_(retriers.size(), 0) {}

RetryDecision RetryCounter::on_error(const std::string& error, double random) {
  RetryDecision decision = decide_retry(retriers_, error, retries_made_, random);
  if (decision.retry) ++retries_made_[*decision.retrier];
  return decision;
}

int RetryCounter::retries_made(std::size_t index) const {
  return index < retries_made_.size() ? retries_made_[index] : 0;
}

int RetryCounter::total_retries() const {
  int total = 0;
  for (int made : retries_made_)
    total += made;
  return total;
}

void RetryCounter::reset() {
  std::fill(retries_made_.begin(), retries_made_.end(), 0);
}

const Catcher* find_catcher(const std::vector<Catcher>& catchers, const std::string& error) {
  for (const Catcher& catcher : catchers) {
    if (error_matches(catcher.error_equals, error)) return &catcher;
  }
  return nullptr;
}

json::object error_output(const StatesError& error) {
  json::object output;
  output["Error"] = error.error;
  output["Cause"] = error.cause;
  return output;
}

StepResult apply_catcher(const Catcher& catcher, const json::value& raw_input,
                         const StatesError& error) {
  return apply_result_path(raw_input, error_output(error), catcher.result_path);
}

}  // namespace homeostat::states
