// Internal to src/states: the parsed form of an intrinsic call and the table of States.*
// functions that evaluate it. intrinsics.cpp parses and walks the tree; intrinsic_functions.cpp
// holds the functions. Nothing outside src/states includes this header.
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "states/intrinsics.hpp"

namespace homeostat::states::detail {

using Outcome = std::variant<boost::json::value, StatesError>;

// Returns a States.IntrinsicFailure with the given cause.
StatesError failure(std::string cause);

// True for the characters of a function name: ASCII letters and digits.
bool is_name_char(char c);

// One parsed argument or call. The tree is built completely before anything is evaluated.
struct Node {
  enum class Kind { kLiteral, kPath, kCall };
  Kind kind = Kind::kLiteral;
  boost::json::value literal;   // kLiteral
  bool string_literal = false;  // kLiteral written in quotes
  std::string raw;              // string literal text as written between the quotes
  std::string text;             // kPath: the path; kCall: the function name
  std::vector<Node> args;       // kCall
};

// The arguments of one call, already evaluated, with the node they came from.
struct Call {
  const Node& node;
  std::vector<boost::json::value> args;
  const IntrinsicOptions& options;

  const std::string& name() const { return node.text; }

  // A failure saying argument `index` (zero-based) is not `expected`.
  StatesError bad(size_t index, std::string_view expected) const;

  // A failure when the argument count is outside [min, max]; SIZE_MAX means no upper bound.
  std::optional<StatesError> want_count(size_t min, size_t max) const;
};

using Function = Outcome (*)(const Call&);

// Returns the function named `name` (e.g. "States.Format"), or nullptr for an unknown name.
Function find_function(std::string_view name);

}  // namespace homeostat::states::detail
