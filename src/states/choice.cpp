#include "states/choice.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

namespace homeostat::states {
namespace {

namespace json = boost::json;

// ---------------------------------------------------------------------------------------------
// Operators.

struct OperatorInfo {
  std::string name;
  RuleKind kind = RuleKind::kCompare;
  ValueType type = ValueType::kString;
  Comparison comparison = Comparison::kEquals;
  bool path = false;  // the "...Path" form: the operand is a reference path, not a literal
  TypeTest test = TypeTest::kIsNull;
};

// Every comparison operator of the language, built once from the four type prefixes and the
// five comparison suffixes (BooleanEquals has only the first), each with and without "Path".
const std::vector<OperatorInfo>& operators() {
  static const std::vector<OperatorInfo> kTable = [] {
    constexpr std::array<std::pair<std::string_view, ValueType>, 4> kTypes = {{
        {"String", ValueType::kString},
        {"Numeric", ValueType::kNumeric},
        {"Boolean", ValueType::kBoolean},
        {"Timestamp", ValueType::kTimestamp},
    }};
    constexpr std::array<std::pair<std::string_view, Comparison>, 5> kComparisons = {{
        {"Equals", Comparison::kEquals},
        {"LessThan", Comparison::kLessThan},
        {"GreaterThan", Comparison::kGreaterThan},
        {"LessThanEquals", Comparison::kLessThanEquals},
        {"GreaterThanEquals", Comparison::kGreaterThanEquals},
    }};
    constexpr std::array<std::pair<std::string_view, TypeTest>, 6> kTests = {{
        {"IsNull", TypeTest::kIsNull},
        {"IsPresent", TypeTest::kIsPresent},
        {"IsNumeric", TypeTest::kIsNumeric},
        {"IsString", TypeTest::kIsString},
        {"IsBoolean", TypeTest::kIsBoolean},
        {"IsTimestamp", TypeTest::kIsTimestamp},
    }};

    std::vector<OperatorInfo> table;
    for (const auto& [type_name, type] : kTypes) {
      for (const auto& [comparison_name, comparison] : kComparisons) {
        if (type == ValueType::kBoolean && comparison != Comparison::kEquals) continue;
        for (bool path : {false, true}) {
          std::string name = std::string(type_name) + std::string(comparison_name);
          if (path) name += "Path";
          table.push_back({std::move(name), RuleKind::kCompare, type, comparison, path, {}});
        }
      }
    }
    for (const auto& [test_name, test] : kTests) {
      table.push_back({std::string(test_name), RuleKind::kTest, {}, {}, false, test});
    }
    table.push_back({"StringMatches", RuleKind::kMatch, {}, {}, false, {}});
    return table;
  }();
  return kTable;
}

const OperatorInfo* find_operator(std::string_view name) {
  for (const auto& info : operators()) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------------
// Timestamps.

// An instant: whole seconds since 1970-01-01T00:00:00Z and the fractional digits with trailing
// zeros removed. Comparing the digit strings lexicographically orders the fractions correctly
// ("05" < "5" < "51"), so any precision compares exactly.
struct Instant {
  std::int64_t seconds = 0;
  std::string fraction;
};

int compare_instants(const Instant& a, const Instant& b) {
  if (a.seconds != b.seconds) return a.seconds < b.seconds ? -1 : 1;
  const int order = a.fraction.compare(b.fraction);
  return order < 0 ? -1 : (order > 0 ? 1 : 0);
}

// Days from 1970-01-01 to the given proleptic Gregorian date (Howard Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t year, std::int64_t month, std::int64_t day) {
  year -= month <= 2 ? 1 : 0;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const std::int64_t year_of_era = year - era * 400;
  const std::int64_t day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const std::int64_t day_of_era =
      year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

bool is_leap_year(std::int64_t year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

std::int64_t days_in_month(std::int64_t year, std::int64_t month) {
  constexpr std::array<std::int64_t, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2 && is_leap_year(year)) return 29;
  return kDays[static_cast<std::size_t>(month - 1)];
}

// Reads `count` decimal digits at `at`, or returns std::nullopt.
std::optional<std::int64_t> read_digits(std::string_view text, std::size_t at, std::size_t count) {
  if (at + count > text.size()) return std::nullopt;
  std::int64_t value = 0;
  for (std::size_t i = at; i < at + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

bool has_char(std::string_view text, std::size_t at, char c) {
  return at < text.size() && text[at] == c;
}

// Parses the RFC 3339 profile the States Language requires: YYYY-MM-DDTHH:MM:SS, an optional
// fraction of any length, then "Z" or a numeric offset +HH:MM / -HH:MM. The "T" and "Z" must be
// upper case. Leap seconds (:60) are refused, since the instant they name is ambiguous.
std::optional<Instant> parse_timestamp(std::string_view text) {
  const auto year = read_digits(text, 0, 4);
  const auto month = read_digits(text, 5, 2);
  const auto day = read_digits(text, 8, 2);
  const auto hour = read_digits(text, 11, 2);
  const auto minute = read_digits(text, 14, 2);
  const auto second = read_digits(text, 17, 2);
  if (!year || !month || !day || !hour || !minute || !second) return std::nullopt;
  if (!has_char(text, 4, '-') || !has_char(text, 7, '-') || !has_char(text, 10, 'T') ||
      !has_char(text, 13, ':') || !has_char(text, 16, ':')) {
    return std::nullopt;
  }
  if (*month < 1 || *month > 12 || *day < 1 || *day > days_in_month(*year, *month) || *hour > 23 ||
      *minute > 59 || *second > 59) {
    return std::nullopt;
  }

  // The fraction: at least one digit after the point; trailing zeros do not change the instant.
  Instant instant;
  std::size_t at = 19;
  if (has_char(text, at, '.')) {
    const std::size_t start = ++at;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9')
      ++at;
    if (at == start) return std::nullopt;
    instant.fraction = std::string(text.substr(start, at - start));
    while (!instant.fraction.empty() && instant.fraction.back() == '0')
      instant.fraction.pop_back();
  }

  // The offset says how far local time is ahead of UTC, so it is subtracted.
  std::int64_t offset_seconds = 0;
  if (has_char(text, at, 'Z')) {
    ++at;
  } else if (has_char(text, at, '+') || has_char(text, at, '-')) {
    const std::int64_t sign = text[at] == '-' ? -1 : 1;
    const auto offset_hour = read_digits(text, at + 1, 2);
    const auto offset_minute = read_digits(text, at + 4, 2);
    if (!offset_hour || !has_char(text, at + 3, ':') || !offset_minute || *offset_hour > 23 ||
        *offset_minute > 59) {
      return std::nullopt;
    }
    offset_seconds = sign * (*offset_hour * 3600 + *offset_minute * 60);
    at += 6;
  } else {
    return std::nullopt;
  }
  if (at != text.size()) return std::nullopt;

  instant.seconds = days_from_civil(*year, *month, *day) * 86400 + *hour * 3600 + *minute * 60 +
                    *second - offset_seconds;
  return instant;
}

std::optional<Instant> as_instant(const json::value& value) {
  if (!value.is_string()) return std::nullopt;
  return parse_timestamp(value.get_string());
}

// ---------------------------------------------------------------------------------------------
// StringMatches patterns.

// Splits a pattern into literal runs and wildcards. Only "\*" (a literal star) and "\\" (a
// literal backslash) are escapes; any other backslash is refused so that a pattern written for
// another glob dialect ("\?", "\d") fails at load time instead of silently never matching.
core::Result<std::vector<PatternPiece>> parse_pattern(std::string_view text) {
  std::vector<PatternPiece> pieces;
  auto literal = [&pieces]() -> std::string& {
    if (pieces.empty() || pieces.back().wildcard) pieces.push_back({false, {}});
    return pieces.back().literal;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '*') {
      // Consecutive stars match the same texts as one.
      if (pieces.empty() || !pieces.back().wildcard) pieces.push_back({true, {}});
      continue;
    }
    if (text[i] != '\\') {
      literal() += text[i];
      continue;
    }
    if (i + 1 == text.size()) {
      return core::Error(core::ErrorCode::kInvalidArgument,
                         "StringMatches pattern ends with a lone backslash");
    }
    if (text[i + 1] != '*' && text[i + 1] != '\\') {
      return core::Error(core::ErrorCode::kInvalidArgument,
                         "StringMatches has an unknown escape '\\" + std::string(1, text[i + 1]) +
                             "' at offset " + std::to_string(i) + "; only \\* and \\\\ escape");
    }
    literal() += text[++i];
  }
  return pieces;
}

// Whether `text` matches the pieces. A literal after a wildcard is taken at its leftmost
// occurrence, which is enough for patterns whose only operator is '*'; the last literal must end
// the text.
bool pattern_matches(const std::vector<PatternPiece>& pieces, std::string_view text) {
  std::size_t pos = 0;
  bool after_wildcard = false;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    const auto& piece = pieces[i];
    if (piece.wildcard) {
      after_wildcard = true;
      continue;
    }

    const std::string_view literal = piece.literal;
    if (i + 1 == pieces.size()) {
      if (text.size() < pos + literal.size() || !text.ends_with(literal)) return false;
      return after_wildcard || text.size() == pos + literal.size();
    }
    if (after_wildcard) {
      const std::size_t found = text.find(literal, pos);
      if (found == std::string_view::npos) return false;
      pos = found + literal.size();
    } else {
      if (text.substr(pos, literal.size()) != literal) return false;
      pos += literal.size();
    }
    after_wildcard = false;
  }
  return after_wildcard || pos == text.size();
}

// ---------------------------------------------------------------------------------------------
// Parsing.

core::Error invalid(const std::string& where, std::string message) {
  core::Error error(core::ErrorCode::kInvalidArgument, std::move(message));
  error.with_context(where);
  return error;
}

core::Result<ChoiceRule> parse_rule(const json::value& value, const std::string& where,
                                    bool top_level);

// Parses the rules of And or Or (a non-empty array) or Not (one rule) into `rule`.
core::Status parse_combinator(const json::value& operand, const std::string& where,
                              ChoiceRule& rule) {
  if (rule.kind == RuleKind::kNot) {
    auto inner = parse_rule(operand, where + ".Not", false);
    if (!inner.ok()) return inner.error();
    rule.rules.push_back(std::move(inner).value());
    return {};
  }

  if (!operand.is_array() || operand.get_array().empty()) {
    return invalid(where, rule.op + " needs a non-empty array of rules");
  }
  const auto& array = operand.get_array();
  for (std::size_t i = 0; i < array.size(); ++i) {
    auto inner = parse_rule(array[i], where + "." + rule.op + "[" + std::to_string(i) + "]", false);
    if (!inner.ok()) return inner.error();
    rule.rules.push_back(std::move(inner).value());
  }
  return {};
}

// Checks the operand of a comparison, type test or StringMatches and stores it in `rule`.
core::Status parse_operand(const OperatorInfo& info, const json::value& operand,
                           const std::string& where, ChoiceRule& rule) {
  if (info.kind == RuleKind::kTest) {
    if (!operand.is_bool()) return invalid(where, info.name + " needs true or false");
    rule.test = info.test;
    rule.expected = operand.get_bool();
    return {};
  }

  if (info.kind == RuleKind::kMatch) {
    if (!operand.is_string()) return invalid(where, info.name + " needs a string");
    auto pattern = parse_pattern(operand.get_string());
    if (!pattern.ok()) return invalid(where, pattern.error().message());
    rule.pattern = std::move(pattern).value();
    return {};
  }

  rule.type = info.type;
  rule.comparison = info.comparison;
  if (info.path) {
    if (!operand.is_string()) return invalid(where, info.name + " needs a reference path string");
    auto path = Path::parse_reference(operand.get_string());
    if (!path.ok()) return invalid(where, info.name + ": " + path.error().message());
    rule.operand_path = std::move(path).value();
    return {};
  }

  bool fits = false;
  std::string_view wanted;
  switch (info.type) {
    case ValueType::kString:
      fits = operand.is_string();
      wanted = "a string";
      break;
    case ValueType::kNumeric:
      fits = operand.is_number();
      wanted = "a number";
      break;
    case ValueType::kBoolean:
      fits = operand.is_bool();
      wanted = "true or false";
      break;
    case ValueType::kTimestamp:
      fits = as_instant(operand).has_value();
      wanted = "an RFC 3339 timestamp such as 2024-01-31T12:00:00Z";
      break;
  }
  if (!fits) return invalid(where, info.name + " needs " + std::string(wanted));
  rule.operand = operand;
  return {};
}

core::Result<ChoiceRule> parse_rule(const json::value& value, const std::string& where,
                                    bool top_level) {
  if (!value.is_object()) return invalid(where, "a choice rule must be an object");
  const auto& object = value.as_object();

  // Sort the fields: the one operator (a combinator or a comparison), Variable, Next, Comment.
  std::vector<std::pair<std::string, const OperatorInfo*>> found;  // nullptr for And/Or/Not
  for (const auto& field : object) {
    const std::string_view key = field.key();
    if (key == "Variable" || key == "Next" || key == "Comment") continue;
    if (key == "And" || key == "Or" || key == "Not") {
      found.emplace_back(std::string(key), nullptr);
    } else if (const auto* info = find_operator(key)) {
      found.emplace_back(std::string(key), info);
    } else {
      return invalid(where, "unknown field '" + std::string(key) + "'");
    }
  }
  if (found.empty()) {
    return invalid(where, "needs one operator: And, Or, Not or a comparison such as StringEquals");
  }
  if (found.size() > 1) {
    return invalid(
        where, "has more than one operator (" + found[0].first + " and " + found[1].first + ")");
  }

  // Next belongs to the rules of the Choices array only; a nested rule's outcome goes to its
  // parent.
  ChoiceRule rule;
  const auto* next = object.if_contains("Next");
  if (top_level) {
    if (next == nullptr || !next->is_string() || next->get_string().empty()) {
      return invalid(where, "needs Next, the name of a state");
    }
    rule.next = std::string(next->get_string());
  } else if (next != nullptr) {
    return invalid(where, "Next is allowed only in a top-level rule");
  }
  if (const auto* comment = object.if_contains("Comment");
      comment != nullptr && !comment->is_string()) {
    return invalid(where, "Comment must be a string");
  }

  // A combinator takes no Variable; a comparison needs one.
  const auto& [name, info] = found.front();
  rule.op = name;
  const auto* variable = object.if_contains("Variable");
  const json::value& operand = object.at(name);
  if (info == nullptr) {
    if (variable != nullptr) return invalid(where, "Variable is not allowed with " + name);
    rule.kind = name == "And" ? RuleKind::kAnd : (name == "Or" ? RuleKind::kOr : RuleKind::kNot);
    auto status = parse_combinator(operand, where, rule);
    if (!status.ok()) return status.error();
    return rule;
  }

  if (variable == nullptr) return invalid(where, name + " needs a Variable");
  if (!variable->is_string()) return invalid(where, "Variable must be a reference path string");
  auto path = Path::parse_reference(variable->get_string());
  if (!path.ok()) return invalid(where, "Variable: " + path.error().message());
  rule.variable = std::move(path).value();
  rule.kind = info->kind;
  auto status = parse_operand(*info, operand, where, rule);
  if (!status.ok()) return status.error();
  return rule;
}

// ---------------------------------------------------------------------------------------------
// Evaluation.

using Outcome = std::variant<bool, StatesError>;

std::optional<json::value> select(const Path& path, const json::value& input,
                                  const Context& context) {
  return path.select(path.is_context() ? context.value : input);
}

StatesError missing(const ChoiceRule& rule, const Path& path) {
  return {std::string(kRuntime), "choice rule " + rule.op + ": path '" + path.text() +
                                     "' selects nothing in the " +
                                     (path.is_context() ? "context object" : "input")};
}

// Orders two JSON numbers: exactly when both are integers, as doubles otherwise.
int compare_numbers(const json::value& a, const json::value& b) {
  auto order = [](auto x, auto y) { return x < y ? -1 : (y < x ? 1 : 0); };
  if (a.is_double() || b.is_double()) {
    auto to_double = [](const json::value& v) {
      if (v.is_double()) return v.get_double();
      if (v.is_int64()) return static_cast<double>(v.get_int64());
      return static_cast<double>(v.get_uint64());
    };
    return order(to_double(a), to_double(b));
  }
  if (a.is_uint64() && b.is_uint64()) return order(a.get_uint64(), b.get_uint64());
  if (a.is_int64() && b.is_int64()) return order(a.get_int64(), b.get_int64());
  // One int64 and one uint64: a uint64 value is only stored when it exceeds INT64_MAX, or it
  // is compared with a negative int64, so the sign decides unless the int64 is non-negative.
  if (a.is_int64()) {
    return a.get_int64() < 0 ? -1
                             : order(static_cast<std::uint64_t>(a.get_int64()), b.get_uint64());
  }
  return b.get_int64() < 0 ? 1 : order(a.get_uint64(), static_cast<std::uint64_t>(b.get_int64()));
}

// Orders `value` against `operand` for the rule's type, or std::nullopt when either is not of
// that type (which makes the comparison false).
std::optional<int> order_for_type(ValueType type, const json::value& value,
                                  const json::value& operand) {
  switch (type) {
    case ValueType::kString: {
      if (!value.is_string() || !operand.is_string()) return std::nullopt;
      const int order = std::string_view(value.get_string()).compare(operand.get_string());
      return order < 0 ? -1 : (order > 0 ? 1 : 0);
    }
    case ValueType::kNumeric:
      if (!value.is_number() || !operand.is_number()) return std::nullopt;
      return compare_numbers(value, operand);
    case ValueType::kBoolean:
      if (!value.is_bool() || !operand.is_bool()) return std::nullopt;
      return value.get_bool() == operand.get_bool() ? 0 : 1;
    case ValueType::kTimestamp: {
      const auto a = as_instant(value);
      const auto b = as_instant(operand);
      if (!a || !b) return std::nullopt;
      return compare_instants(*a, *b);
    }
  }
  return std::nullopt;
}

bool holds(Comparison comparison, int order) {
  switch (comparison) {
    case Comparison::kEquals:
      return order == 0;
    case Comparison::kLessThan:
      return order < 0;
    case Comparison::kGreaterThan:
      return order > 0;
    case Comparison::kLessThanEquals:
      return order <= 0;
    case Comparison::kGreaterThanEquals:
      return order >= 0;
  }
  return false;
}

bool passes_test(TypeTest test, const json::value& value) {
  switch (test) {
    case TypeTest::kIsNull:
      return value.is_null();
    case TypeTest::kIsPresent:
      return true;
    case TypeTest::kIsNumeric:
      return value.is_number();
    case TypeTest::kIsString:
      return value.is_string();
    case TypeTest::kIsBoolean:
      return value.is_bool();
    case TypeTest::kIsTimestamp:
      return as_instant(value).has_value();
  }
  return false;
}

Outcome evaluate_combinator(const ChoiceRule& rule, const json::value& input,
                            const Context& context) {
  if (rule.kind == RuleKind::kNot) {
    auto inner = evaluate(rule.rules.front(), input, context);
    if (const bool* result = std::get_if<bool>(&inner)) return !*result;
    return inner;
  }

  // And stops at the first false, Or at the first true, so an earlier IsPresent can guard a
  // later comparison of the same field.
  const bool stop_at = rule.kind == RuleKind::kOr;
  for (const auto& inner_rule : rule.rules) {
    auto inner = evaluate(inner_rule, input, context);
    const bool* result = std::get_if<bool>(&inner);
    if (result == nullptr) return inner;
    if (*result == stop_at) return stop_at;
  }
  return !stop_at;
}

}  // namespace

core::Result<ChoiceRule> parse_choice_rule(const json::value& rule, const std::string& where) {
  return parse_rule(rule, where, true);
}

std::variant<bool, StatesError> evaluate(const ChoiceRule& rule, const json::value& input,
                                         const Context& context) {
  if (rule.kind == RuleKind::kAnd || rule.kind == RuleKind::kOr || rule.kind == RuleKind::kNot) {
    return evaluate_combinator(rule, input, context);
  }

  // Every other rule reads its Variable (parse_rule refuses such a rule without one); only
  // IsPresent accepts that it selects nothing.
  const auto value = select(*rule.variable, input, context);
  if (!value) {
    if (rule.kind == RuleKind::kTest && rule.test == TypeTest::kIsPresent) return !rule.expected;
    return missing(rule, *rule.variable);
  }

  switch (rule.kind) {
    case RuleKind::kTest:
      return passes_test(rule.test, *value) == rule.expected;
    case RuleKind::kMatch:
      return value->is_string() && pattern_matches(rule.pattern, value->get_string());
    default:
      break;
  }

  // A comparison: against the literal, or against what the "...Path" operand selects.
  std::optional<json::value> selected;
  if (rule.operand_path) {
    selected = select(*rule.operand_path, input, context);
    if (!selected) return missing(rule, *rule.operand_path);
  }
  const json::value& operand = selected ? *selected : rule.operand;
  const auto order = order_for_type(rule.type, *value, operand);
  return order.has_value() && holds(rule.comparison, *order);
}

}  // namespace homeostat::states
