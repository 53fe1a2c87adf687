// Intrinsic functions of the Amazon States Language: the States.* calls a state machine may
// write in a Parameters or ResultSelector field, such as States.Format('Hi {}', $.name).
//
// evaluate_intrinsic() parses one call (nested calls included) into a small tree first and
// evaluates it afterwards, so a syntax error is reported before any function runs. The
// functions are pure apart from States.UUID and unseeded States.MathRandom, which draw from
// the random source in IntrinsicOptions. Nothing here keeps state between calls; every
// function is safe to call from any thread as long as the resolver and random source are.
// The behaviour of each function, and where it departs from or fills gaps in the AWS
// documentation, is described in docs/states-language.md ("Intrinsic functions").
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace homeostat::states {

// An error raised while running a state machine: the ASL error name, e.g.
// "States.IntrinsicFailure", and a human-readable cause.
struct StatesError {
  std::string error;
  std::string cause;
};

// The error name every failure of an intrinsic function carries.
inline constexpr std::string_view kIntrinsicFailure = "States.IntrinsicFailure";

// Resolves a path argument such as "$.a.b" or "$$.Execution.Id" to a value, or returns
// std::nullopt when the path selects nothing. Supplied by the caller; the text passed is the
// path exactly as written, without surrounding whitespace.
using PathResolver = std::function<std::optional<boost::json::value>(std::string_view path)>;

// Fills `out` with `n` random bytes.
using RandomSource = std::function<void(uint8_t* out, size_t n)>;

struct IntrinsicOptions {
  // Used by States.UUID and by States.MathRandom without a seed. Empty means the operating
  // system's CSPRNG (core::random_bytes). Tests inject a fixed source.
  RandomSource random;
};

// Parses and evaluates one intrinsic call, e.g. States.Format('Hello {}', $.name).
// Arguments may be string literals in single quotes (escapes \' \{ \} \\ only), numbers,
// true/false/null, paths ($ or $$ prefixed) and nested intrinsic calls, at most 10 calls deep.
// Returns the value, or a StatesError named States.IntrinsicFailure whose cause says whether
// the expression did not parse, named an unknown function, or passed bad arguments.
// `resolve` is called once per path argument and must not be empty when paths occur.
std::variant<boost::json::value, StatesError> evaluate_intrinsic(std::string_view expression,
                                                                 const PathResolver& resolve);

// As above, with an injected random source.
std::variant<boost::json::value, StatesError> evaluate_intrinsic(std::string_view expression,
                                                                 const PathResolver& resolve,
                                                                 const IntrinsicOptions& options);

// True when `text` looks like an intrinsic call: "States.", a name of letters and digits, and
// "(". Leading whitespace is not allowed. Says nothing about whether the call is valid.
bool is_intrinsic(std::string_view text);

}  // namespace homeostat::states
