// The EventBridge event-pattern language: the parsed, validated form of one pattern.
//
// A pattern is an OR of alternatives (one per branch of its `$or`s); an alternative is an AND of
// fields; a field is a path into the event and an OR of conditions on the values found there.
// parse_pattern() checks everything the language requires and expands `$or`, so a Pattern is
// always valid and ready to compile (matcher.hpp) or to evaluate directly (reference.hpp).
// docs/patterns.md is the user's description of the same rules.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "core/result.hpp"

namespace homeostat::patterns {

// The limits a pattern must respect. They bound the work of compiling and matching it.
struct PatternLimits {
  size_t max_bytes = 64 * 1024;    // the pattern's JSON text
  int max_depth = 16;              // nested objects, `$or` included
  size_t max_alternatives = 1000;  // after `$or` is expanded
  size_t max_values = 1000;        // conditions in one alternative, all fields together
  size_t max_wildcard_stars = 16;  // `*` in one wildcard value
};

// A scalar from a pattern or an event.
struct Scalar {
  enum class Kind { kString, kNumber, kBool, kNull };
  Kind kind = Kind::kNull;
  std::string text;     // kString: the string
  double number = 0.0;  // kNumber: the value; -0 is stored as 0
  bool boolean = false;

  bool operator==(const Scalar&) const = default;
};

// A scalar found in an event, pointing into the event's text; what conditions judge.
struct ScalarView {
  Scalar::Kind kind = Scalar::Kind::kNull;
  std::string_view text;
  double number = 0.0;
  bool boolean = false;
};

// A numeric interval; a missing end is +/- infinity.
struct NumericRange {
  double low = 0.0;
  double high = 0.0;
  bool has_low = false;
  bool has_high = false;
  bool low_inclusive = false;
  bool high_inclusive = false;

  bool contains(double x) const;
};

// An IP address as 16 bytes; an IPv4 address fills the first 4.
struct IpAddress {
  bool ipv6 = false;
  std::array<uint8_t, 16> bytes{};
};

// Parses a dotted-quad IPv4 or a textual IPv6 address; nullopt when `text` is neither.
std::optional<IpAddress> parse_ip(std::string_view text);

// An IPv4 or IPv6 network; addresses are compared as 16 bytes (IPv4 in the first 4).
struct CidrRange {
  bool ipv6 = false;
  std::array<uint8_t, 16> network{};
  int prefix_bits = 0;

  bool contains(std::string_view address) const;
};

// A wildcard value split at its unescaped `*`s: "a*b*" is {"a", "b", ""} with stars between.
struct Wildcard {
  std::vector<std::string> parts;  // parts.size() - 1 stars

  bool matches(std::string_view s) const;
};

// One condition on the values at a path. Which members are used depends on `op`.
struct Condition {
  enum class Op {
    kExact,                  // scalar
    kPrefix,                 // text
    kSuffix,                 // text
    kEqualsIgnoreCase,       // text, folded
    kPrefixIgnoreCase,       // text, folded
    kSuffixIgnoreCase,       // text, folded
    kWildcard,               // wildcards[0]
    kAnythingBut,            // scalars: none of them
    kAnythingButPrefix,      // text
    kAnythingButSuffix,      // text
    kAnythingButWildcard,    // wildcards: none of them
    kAnythingButIgnoreCase,  // texts, folded: none of them
    kNumeric,                // range
    kCidr,                   // cidr
    kExists,                 // exists
  };
  Op op = Op::kExact;
  Scalar scalar;
  std::string text;
  std::vector<Scalar> scalars;
  std::vector<std::string> texts;
  std::vector<Wildcard> wildcards;
  NumericRange range;
  CidrRange cidr;
  bool exists = true;

  // True when this condition holds for one value found at the path (kExists excepted: it is
  // decided by whether any value is found at all).
  bool matches(const ScalarView& value) const;
};

// A path into the event and the conditions on its values (any one suffices).
struct Field {
  std::vector<std::string> path;  // keys from the top of the event
  std::vector<Condition> conditions;
};

// Every field must hold. Fields are sorted by path.
struct Alternative {
  std::vector<Field> fields;
};

// Any alternative may hold.
struct Pattern {
  std::vector<Alternative> alternatives;
};

// Parses and validates a pattern given as JSON text. The error message names the place in
// the pattern, e.g. `detail.severity[0]: numeric: ">>" is not an operator`.
core::Result<Pattern> parse_pattern(std::string_view json, const PatternLimits& limits = {});

// The same, from a parsed JSON value.
core::Result<Pattern> parse_pattern_value(const boost::json::value& json,
                                          const PatternLimits& limits = {});

// Joins a path with dots for messages: {"detail", "state"} is "detail.state".
std::string dotted(const std::vector<std::string>& path);

// Lowercases ASCII letters; other bytes are kept as they are. equals-ignore-case and the
// ignore-case forms of prefix, suffix and anything-but compare strings after this folding.
std::string fold_case(std::string_view s);

}  // namespace homeostat::patterns
