// Choice rules of the Amazon States Language: the conditions a Choice state tests, in order, to
// pick its next state, such as {"Variable": "$.status", "StringEquals": "firing", "Next": "X"}.
//
// A rule is parsed once, when a definition is loaded, so a malformed rule (a missing Variable,
// two operators, an operand of the wrong type, a bad path or timestamp) is refused before any
// execution runs. Evaluation keeps no state and never throws, so it is safe to call from any
// thread. Every decision taken where the specification is silent is described in
// docs/states-language.md ("Choice rules").
#pragma once

#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/result.hpp"
#include "states/intrinsics.hpp"
#include "states/paths.hpp"

namespace homeostat::states {

// What a rule does: combine other rules, compare the Variable with an operand, test the kind of
// the Variable's value, or match it against a StringMatches pattern.
enum class RuleKind { kAnd, kOr, kNot, kCompare, kTest, kMatch };

// The type a comparison operator works on: StringEquals compares strings, NumericEquals numbers.
enum class ValueType { kString, kNumeric, kBoolean, kTimestamp };

enum class Comparison { kEquals, kLessThan, kGreaterThan, kLessThanEquals, kGreaterThanEquals };

enum class TypeTest { kIsNull, kIsPresent, kIsNumeric, kIsString, kIsBoolean, kIsTimestamp };

// One piece of a StringMatches pattern: a run of literal text, or a '*' that matches any run of
// characters, the empty one included.
struct PatternPiece {
  bool wildcard = false;
  std::string literal;
};

// A parsed Choice rule. Immutable after parsing; the fields used depend on `kind`.
struct ChoiceRule {
  RuleKind kind = RuleKind::kCompare;
  std::string op;                       // the operator as written, e.g. "NumericLessThanPath"
  std::optional<Path> variable;         // kCompare, kTest, kMatch
  ValueType type = ValueType::kString;  // kCompare
  Comparison comparison = Comparison::kEquals;  // kCompare
  boost::json::value operand;                   // kCompare without Path: the literal, as written
  std::optional<Path> operand_path;             // kCompare with a "...Path" operator
  TypeTest test = TypeTest::kIsNull;            // kTest
  bool expected = true;               // kTest: the boolean operand, e.g. "IsPresent": false
  std::vector<PatternPiece> pattern;  // kMatch
  std::vector<ChoiceRule> rules;      // kAnd, kOr: one or more; kNot: exactly one
  std::string next;                   // a top-level rule's Next; empty for nested rules
};

// Parses one rule of a Choice state's Choices array; `where` names it in messages, e.g.
// "Choices[2]". The rule holds "Next" (a string) and either "Variable" with exactly one
// comparison operator, or exactly one of "And" (a non-empty array of rules), "Or" (likewise) and
// "Not" (one rule). Nested rules have the same shape without "Next". "Comment" is allowed
// anywhere; any other field is refused. Errors are kInvalidArgument and name the place, e.g.
// "Choices[2].And[0]: StringEquals needs a string".
core::Result<ChoiceRule> parse_choice_rule(const boost::json::value& rule,
                                           const std::string& where);

// Evaluates `rule`, which must come from parse_choice_rule, against the Choice state's
// effective input; "$$" paths select from `context`.
// And and Or evaluate their rules left to right and stop at the first that decides the outcome,
// so {"And": [IsPresent, StringEquals]} on a missing field is false, not an error.
//
// A Variable, or the operand of a "...Path" operator, that selects nothing fails with
// States.Runtime, except under IsPresent, which is then false (or true for "IsPresent": false).
// A value of the wrong type for the operator (a number under StringEquals, a string that is not
// a timestamp under TimestampEquals) makes the comparison false, not an error.
std::variant<bool, StatesError> evaluate(const ChoiceRule& rule, const boost::json::value& input,
                                         const Context& context);

}  // namespace homeostat::states
