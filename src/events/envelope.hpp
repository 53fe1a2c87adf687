// Validation of incoming events and of request bodies that carry them. A body is one event, a
// JSON array of events, or NDJSON (one event per line); each entry is checked on its own, so a
// bad entry never rejects its good neighbours.
#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/clock.hpp"
#include "core/ids.hpp"
#include "core/result.hpp"
#include "events/event.hpp"

namespace homeostat::events {

// Why one entry was refused. The names are part of the HTTP API (docs/events.md).
enum class EntryErrorCode {
  kInvalidJson,    // the entry is not JSON
  kNotAnObject,    // the entry is JSON but not an object
  kMissingField,   // source, detail-type or detail is absent
  kEmptyField,     // source or detail-type is ""
  kWrongType,      // a field has the wrong JSON type
  kInvalidTime,    // time is not RFC 3339
  kInvalidId,      // id has characters or a length we refuse
  kUnknownField,   // a top-level field the envelope does not have, or one given twice
  kEntryTooLarge,  // the canonical event is over Limits::max_entry_bytes
};

// Returns the API name of a code, e.g. "MissingField".
const char* entry_error_name(EntryErrorCode code);

struct EntryError {
  EntryErrorCode code;
  std::string message;  // says which field and what was wrong with it
};

// One entry of a batch: a valid event or the reason it was refused.
using Entry = std::variant<Event, EntryError>;

// How a body is to be split into entries.
enum class BodyFormat {
  kAuto,    // '[' starts an array; otherwise one object, or NDJSON if it is not one object
  kJson,    // one JSON value: an object or an array of objects
  kNdjson,  // one event per line; blank lines are skipped
};

// Checks and completes events. Thread-safe: each thread parses with its own parser.
class EnvelopeParser {
 public:
  EnvelopeParser(Limits limits, Defaults defaults, core::IdGenerator& ids,
                 const core::Clock& clock);

  // Splits `body` into entries and validates each, in order. Fails as a whole only when the body
  // cannot be split (a malformed array) or passes a batch limit: max_batch_bytes gives kTooLarge,
  // max_batch_entries kInvalidArgument.
  core::Result<std::vector<Entry>> parse_batch(std::string_view body, BodyFormat format) const;

  // Validates one entry given as JSON text.
  Entry parse_entry(std::string_view json) const;

  const Limits& limits() const { return limits_; }

 private:
  Limits limits_;
  Defaults defaults_;
  core::IdGenerator& ids_;
  const core::Clock& clock_;
};

// Returns true when `id` is acceptable as an event id: 1 to 128 characters from
// [A-Za-z0-9._:-], so that it fits in a URL path unescaped.
bool is_valid_event_id(std::string_view id);

}  // namespace homeostat::events
