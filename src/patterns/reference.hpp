// A direct, unoptimised evaluation of one pattern against one parsed event. It states the
// matching rules in the plainest code we have, and the compiled matcher is tested against it
// (conformance suite, fuzzing). Nothing on a hot path uses it: it can take time exponential
// in the number of arrays an event nests.
#pragma once

#include <boost/json/value.hpp>

#include "patterns/pattern.hpp"

namespace homeostat::patterns {

// True when `event` matches `pattern`:
// - an alternative holds when each of its fields holds for values that can be taken together;
// - the values at a path are the scalars reached by following its keys, stepping into every
//   element of any array on the way (objects at the end of the path are not values);
// - two values can be taken together unless they come from different elements of the same
//   array of objects;
// - a field holds when one of its conditions holds for one of its values, or when it has
//   {"exists": false} and the path has no value at all.
bool reference_match(const Pattern& pattern, const boost::json::value& event);

}  // namespace homeostat::patterns
