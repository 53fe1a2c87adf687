// The event envelope: the EventBridge event shape that every event in Homeostat has, once it
// has been validated and completed on entry.
//
//   {"version": "0", "id": "...", "detail-type": "...", "source": "...", "account": "...",
//    "time": "2026-12-03T16:32:35Z", "region": "...", "resources": ["..."], "detail": {...}}
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace homeostat::events {

// A validated event. `json` is its canonical text: the envelope fields in the order above,
// minified, with id, time, version, account, region and resources filled in.
struct Event {
  std::string id;
  std::string source;
  std::string detail_type;
  int64_t time_ms = 0;  // the event's own time, milliseconds since the epoch
  std::string json;
};

// Size limits applied where events enter. Every one is configurable.
struct Limits {
  size_t max_entry_bytes = 256 * 1024;        // one event's canonical JSON
  size_t max_batch_bytes = 10 * 1024 * 1024;  // one request body
  size_t max_batch_entries = 10000;           // entries in one request
};

// Values filled into events that do not carry them.
struct Defaults {
  std::string account = "000000000000";
  std::string region = "local";
};

}  // namespace homeostat::events
