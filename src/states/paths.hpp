// Paths and input/output processing of the Amazon States Language: the JsonPath subset a state
// machine writes in InputPath, OutputPath, ResultPath and the "<name>.$" fields of a payload
// template, and the five steps that turn a state's raw input into its effective output:
//
//   raw input -> InputPath -> Parameters -> (the state runs) -> ResultSelector -> ResultPath
//             -> OutputPath -> effective output
//
// Paths are parsed once, when a definition is loaded, so a syntax error is reported before any
// execution runs; selecting and processing never throw and keep no state, so everything here
// is safe to call from any thread. Each step, the error it raises and every decision taken
// where the specification is silent are described in docs/states-language.md ("Paths and data
// processing").
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/result.hpp"
#include "states/intrinsics.hpp"

namespace homeostat::states {

// Error names raised by the processing steps (the specification's Appendix A).
inline constexpr std::string_view kRuntime = "States.Runtime";
inline constexpr std::string_view kParameterPathFailure = "States.ParameterPathFailure";
inline constexpr std::string_view kResultPathMatchFailure = "States.ResultPathMatchFailure";

struct FilterExpression;

// One step of a parsed path, e.g. ".name", "[0]", "[*]", "..name", "[1:3]", "['a','b']" or
// "[?(@.price < 10)]".
struct PathSegment {
  enum class Kind { kName, kIndex, kWildcard, kSlice, kUnion, kFilter };
  using Member = std::variant<std::string, std::int64_t>;  // a union member: name or index

  Kind kind = Kind::kName;
  bool descendants = false;           // reached through "..": applies to the node and all below it
  std::size_t offset = 0;             // where the segment starts in the path text, for messages
  std::string name;                   // kName
  std::int64_t index = 0;             // kIndex; negative counts from the end of the array
  std::optional<std::int64_t> start;  // kSlice, Python-style bounds
  std::optional<std::int64_t> end;    // kSlice
  std::int64_t step = 1;              // kSlice
  std::vector<Member> members;        // kUnion
  // kFilter: the parsed test; shared because it is immutable and paths are copied freely.
  std::shared_ptr<const FilterExpression> filter;
};

// The test of a filter "[?(...)]", parsed into a tree. A leaf tests one element (the "@" of the
// expression): kExists is true when `left` names a member that is present, kCompare compares
// `left` with `right`. kAnd and kOr combine two or more `children`, which are evaluated left to
// right and stop at the first that settles the result.
struct FilterExpression {
  enum class Kind { kOr, kAnd, kExists, kCompare };
  enum class Op { kEq, kNe, kLt, kLe, kGt, kGe };

  // One side of a comparison: a path relative to the element ("@.a.b", "@['x y'][0]"; names and
  // indices only), or a literal number, string, true, false or null.
  struct Operand {
    bool relative = false;
    std::vector<PathSegment> path;  // when relative; empty never happens ("@" alone is refused)
    boost::json::value literal;     // when not relative
  };

  Kind kind = Kind::kExists;
  std::size_t offset = 0;                  // where the expression starts in the path text
  std::vector<FilterExpression> children;  // kAnd, kOr
  Op op = Op::kEq;                         // kCompare
  Operand left;                            // kExists, kCompare
  Operand right;                           // kCompare
};

// A parsed path. "$" is the root of whatever document the caller selects from; a path written
// with "$$" is meant for the context object, which is_context() reports; the caller picks the
// document. Immutable after parsing.
class Path {
 public:
  // Parses a Path: "$" or "$$", then any of .name, ['name'], ["name"], [index], [*], .*, ..name,
  // ..*, [start:end:step], unions such as [0,2] or ['a','b'], and filters such as
  // [?(@.price < 10)] or ..book[?(@.tag && (@.n == 1 || @.s != 'x'))]. In dot notation a
  // backslash escapes the next character ($.a\.b names the key "a.b").
  //
  // A filter keeps the elements of an array (or the member values of an object) for which its
  // expression is true. The expression compares with == != < <= > >= or tests existence, and
  // combines with && and || and parentheses. Operands are "@" followed by names and indices
  // only, or literals: numbers, 'single' or "double" quoted strings, true, false, null. A
  // comparison between different types, or with a missing member, is false (for != too).
  // Filters cannot refer to "$", use regular expressions (=~) or call functions.
  //
  // On failure the error (kInvalidArgument) names the path, what is wrong and the character
  // offset, e.g. "path '$.a[': unterminated '[' at offset 3".
  static core::Result<Path> parse(std::string_view text);

  // Parses a Reference Path: a Path that names exactly one node, so only names and indices are
  // allowed; "..", "*", slices, unions and filters are rejected with their offset.
  static core::Result<Path> parse_reference(std::string_view text);

  // The value the path selects from `root`. A definite path (see is_definite()) returns the one
  // node, or std::nullopt when a key or index on the way is missing or a step meets the wrong
  // kind of value. Any other path gathers every match, in document order, into an array, which
  // is empty when nothing matched.
  std::optional<boost::json::value> select(const boost::json::value& root) const;

  // True when the path was written with "$$" and is meant for the context object.
  bool is_context() const { return context_; }
  // True when the path can name at most one node: only names and indices, no "..", so never
  // when it holds a filter.
  bool is_definite() const;
  // The path as written.
  const std::string& text() const { return text_; }
  const std::vector<PathSegment>& segments() const { return segments_; }

 private:
  Path() = default;

  std::string text_;
  bool context_ = false;
  std::vector<PathSegment> segments_;
};

// The context object ("$$"), built by the executor for each state it enters. Expected shape:
//   {"Execution": {"Id", "Input", "Name", "StartTime"},
//    "State": {"Name", "EnteredTime", "RetryCount"},
//    "StateMachine": {"Id", "Name"},
//    "Task": {"Token"},                      -- only inside a Task state waiting for a token
//    "Map": {"Item": {"Index", "Value"}}}    -- only in a Map state's item processing
// Nothing here depends on the shape; a path that names a missing member fails as for input.
struct Context {
  boost::json::value value = boost::json::object();
};

// What every processing step returns: the new value, or the ASL error that fails the state.
using StepResult = std::variant<boost::json::value, StatesError>;

// InputPath. `path` std::nullopt stands for "InputPath": null and yields {}; a state without
// InputPath passes the parsed "$". A "$$" path selects from the context. A path that selects
// nothing fails with States.Runtime.
StepResult apply_input_path(const boost::json::value& raw_input, const std::optional<Path>& path,
                            const Context& context);

// Parameters: expands the payload template `templ` (a JSON object) against `input`, the output
// of InputPath. In every object however deep, also inside arrays, a field "<name>.$" becomes
// "<name>" with its value computed from a string: "$..." selects from `input`, "$$..." from the
// context, and anything else must be an intrinsic function (evaluate_intrinsic). Other fields
// are copied unchanged. Errors: a legal path that selects nothing, States.ParameterPathFailure;
// an intrinsic that fails, its own error (States.IntrinsicFailure); a template that is not an
// object, a "<name>.$" value that is not a string, path or intrinsic, or two fields with the
// same name after ".$" is stripped, States.Runtime.
StepResult apply_parameters(const boost::json::value& templ, const boost::json::value& input,
                            const Context& context);

// ResultSelector: the same expansion as apply_parameters over the state's raw `result`, with
// the same errors.
StepResult apply_result_selector(const boost::json::value& templ, const boost::json::value& result,
                                 const Context& context);

// ResultPath. `path` std::nullopt stands for "ResultPath": null: the result is discarded and the
// raw input is returned. "$" returns the result. Any other reference path returns a copy of the
// raw input with the result written at that place, creating missing objects on the way and
// replacing what was there. Writing needs an object for a name and an existing element for an
// index; anything else fails with States.ResultPathMatchFailure. A "$$" path fails with
// States.Runtime, since ResultPath may not write into the context object.
StepResult apply_result_path(const boost::json::value& raw_input, const boost::json::value& result,
                             const std::optional<Path>& path);

// OutputPath, over the output of ResultPath. std::nullopt ("OutputPath": null) yields {}; a "$$"
// path selects from the context; a path that selects nothing fails with States.Runtime.
StepResult apply_output_path(const boost::json::value& output, const std::optional<Path>& path,
                             const Context& context);

}  // namespace homeostat::states
