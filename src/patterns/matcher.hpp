// The compiled matcher: every pattern of a rule set in one shared automaton, so that matching
// an event costs about the same for ten rules as for a hundred thousand.
//
// Design. Each pattern alternative is a list of fields sorted by path. Alternatives become
// paths through a tree of states that starts at one root: from a state, a *group* of
// transitions reads the values at one event path, and each transition leads to the state
// where the rest of the alternative continues. Alternatives that begin with the same field
// and the same conditions share states, so 10,000 rules of the shape {source, alarm name}
// cost one hash lookup on the alarm name, not 10,000 comparisons. A state where an
// alternative ends lists the rules it completes.
//
// Each group indexes its conditions by kind: exact strings and numbers in hash maps, prefixes
// and suffixes in hash maps keyed by length, true/false/null in slots, and the rest
// (anything-but, numeric ranges, cidr, wildcards) in a list checked one by one.
//
// Matching walks the event once with simdjson On-Demand, following only keys that some
// pattern names and skipping every other subtree unread; it records the scalars found at the
// patterns' paths, each with the array elements it came from. It then walks the states from
// the root, depth first. Values from different elements of one array of objects are never
// combined in one alternative; a state is visited once per distinct set of array elements
// that still matter below it, which bounds the work by the size of the event.
//
// Thread safety: a Matcher is immutable once compiled and may be shared by any number of
// threads; each thread brings its own MatchScratch. A rule set changes by compiling a new
// Matcher and swapping the pointer, so matching never stops.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "patterns/pattern.hpp"

namespace homeostat::patterns {

class MatchScratch;

// Figures about a compiled matcher.
struct MatcherStats {
  size_t rules = 0;
  size_t alternatives = 0;
  size_t states = 0;
  size_t transitions = 0;
  size_t paths = 0;
  size_t approximate_bytes = 0;  // the matcher's own heap, estimated from container sizes
};

class Matcher {
 public:
  // Compiles `patterns`; the rule id of patterns[i] is i.
  static std::shared_ptr<const Matcher> compile(std::span<const Pattern> patterns);

  ~Matcher();
  Matcher(const Matcher&) = delete;
  Matcher& operator=(const Matcher&) = delete;

  // Matches one event given as JSON text. On success `out` holds the ids of the matching
  // rules in ascending order. Fails with kInvalidArgument when the text is not a JSON object
  // (only the parts of the event that some pattern reads are checked), and with kTooLarge when
  // matching would take more than max(4,000,000, 256 x the event's bytes) steps, a few
  // milliseconds per million: possible only when patterns combine fields of several arrays of
  // objects and the event makes those arrays long.
  core::Status match(std::string_view event_json, MatchScratch& scratch,
                     std::vector<uint32_t>& out) const;

  MatcherStats stats() const;

  struct Impl;

 private:
  explicit Matcher(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Per-thread buffers for Matcher::match: the JSON parser and what one event's walk records.
// Reusing one across events keeps the hot path free of allocation.
class MatchScratch {
 public:
  MatchScratch();
  ~MatchScratch();
  MatchScratch(const MatchScratch&) = delete;
  MatchScratch& operator=(const MatchScratch&) = delete;

  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace homeostat::patterns
